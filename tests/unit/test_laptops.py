"""What an SME's Windows or macOS laptop does differently, made to happen here (#31): a store
held open by another program, output to a file in cp1252, a Dutch locale without LANG, Excel's
CSV, timestamps a PLC never set. Where Linux cannot produce the fault itself, a fake injects
it and says so."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from fieldlab.simulators.scenario import load_scenario
from fieldlab.stack import LocalStack


def test_a_demo_restarted_beside_a_store_in_use_takes_a_fresh_file(tmp_path, monkeypatch):
    old = tmp_path / "fieldlab.db"
    viewer = sqlite3.connect(old)  # the SME's DB viewer, or a dashboard still running
    viewer.execute("CREATE TABLE t (x)")
    viewer.execute("INSERT INTO t VALUES (1)")
    viewer.commit()
    real_unlink = Path.unlink

    def windows_unlink(self: Path, missing_ok: bool = False) -> None:
        """FAKE: Windows refuses to delete a file another process holds open (WinError 32);
        Linux allows it, so the refusal is injected here."""
        if self == old:
            raise PermissionError(32, "The process cannot access the file", str(self))
        real_unlink(self, missing_ok=missing_ok)

    monkeypatch.setattr(Path, "unlink", windows_unlink)
    stack = LocalStack(load_scenario(), tmp_path)
    stack._fresh_store()
    assert stack.db_name == "fieldlab-2.db" and stack.db_path == tmp_path / "fieldlab-2.db"
    assert viewer.execute("SELECT x FROM t").fetchall() == [(1,)]  # left alone, whole
    # the next run, with the viewer closed: the old files go, the usual name is back
    monkeypatch.undo()
    viewer.close()
    (tmp_path / "fieldlab-2.db").write_bytes(b"")
    (tmp_path / "fieldlab-archive.db").write_bytes(b"mine")  # a person's own file: kept
    again = LocalStack(load_scenario(), tmp_path)
    again._fresh_store()
    assert again.db_name == "fieldlab.db"
    assert [p.name for p in tmp_path.glob("fieldlab*.db")] == ["fieldlab-archive.db"]


def test_every_command_writes_to_a_cp1252_file(monkeypatch, tmp_path, capsys):
    """`fieldlab oee > oee.txt` on Windows: stdout is cp1252, and `→` in oee's first line (or
    `≥` in bench, a PLC's browse name in discover) raised UnicodeEncodeError as a traceback."""
    import io

    import pytest

    from fieldlab.cli.main import _commands, build_parser, main

    def cp1252() -> io.TextIOWrapper:
        return io.TextIOWrapper(io.BytesIO(), encoding="cp1252", errors="strict")

    for command in _commands(build_parser()):
        words = command.prog.split()[1:]
        out = cp1252()
        monkeypatch.setattr("sys.stdout", out)
        with pytest.raises(SystemExit) as done:
            main([*words, "--help"])
        assert done.value.code == 0, words
    from fieldlab.domain.samples import Sample
    from fieldlab.store import SqliteStore
    from tests.helpers import local

    site = tmp_path / "site.yaml"
    site.write_text("machines: {press-1: {ideal_cycle_time_s: 20}}\n")
    with SqliteStore(tmp_path / "fieldlab.db") as store:
        store.write([Sample(local("2026-03-02 06:00"), "press-1", "state", "running")])
    for args in (
        ["oee", "-c", str(site), "--from", "2026-03-02", "--to", "2026-03-03", "--lang", "nl"],
        ["config", "check", str(site)],
    ):
        out = cp1252()
        monkeypatch.setattr("sys.stdout", out)
        assert main(args) == 0, args
        out.flush()
        text = out.buffer.getvalue().decode("cp1252")  # type: ignore[attr-defined]
        assert "press-1" in text
    first = "→".join(["a", "b"])
    out = cp1252()
    from fieldlab.cli.console import safe_streams

    safe_streams(out)
    out.write(first + " ≥ 2 €5 ×3\n")
    out.flush()
    assert out.buffer.getvalue().decode("cp1252") == "a->b >= 2 €5 ×3\n"  # type: ignore[attr-defined]


def test_a_dutch_computer_without_lang_gets_dutch(monkeypatch):
    """Windows never sets LANG: the language comes from the computer's own setting."""
    import ctypes
    import locale
    import types

    from fieldlab import i18n

    for var in ("FIELDLAB_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(var, raising=False)
    for name, want in (
        ("Dutch_Netherlands", "nl"),  # Windows' locale name, as Python 3.11 reports it there
        ("nl_BE", "nl"),
        ("English_United States", "en"),
    ):
        monkeypatch.setattr(locale, "getlocale", lambda *a, n=name: (n, "1252"))
        i18n.os_language.cache_clear()
        assert i18n.detect_lang() == want, name
    # Windows' display language (FAKE: ctypes.windll exists only on Windows)
    monkeypatch.setattr(i18n.sys, "platform", "win32")
    for langid, want in ((0x0413, "nl"), (0x0813, "nl"), (0x0409, "en")):
        kernel32 = types.SimpleNamespace(GetUserDefaultUILanguage=lambda v=langid: v)
        monkeypatch.setattr(
            ctypes, "windll", types.SimpleNamespace(kernel32=kernel32), raising=False
        )
        i18n.os_language.cache_clear()
        assert i18n.detect_lang() == want, hex(langid)
    # what the person set still wins, and C is no language
    monkeypatch.setenv("LANG", "C.UTF-8")
    assert i18n.detect_lang() == "en"
    monkeypatch.setenv("FIELDLAB_LANG", "nl")
    assert i18n.detect_lang("en") == "en" and i18n.detect_lang() == "nl"
    i18n.os_language.cache_clear()


def test_ingest_takes_what_excel_writes(tmp_path, capsys):
    """Dutch Excel saves a CSV with `;` columns, a decimal comma, CRLF, and either a UTF-8 BOM
    ("CSV UTF-8") or cp1252 ("CSV"); cmd passes `data\\*.csv` unexpanded. All of it ingests."""
    from fieldlab.cli.main import main
    from fieldlab.store import SqliteStore

    data = tmp_path / "data"
    data.mkdir()
    rows = [
        "ts;machine;signal;value",
        "2026-03-02T06:00:00+01:00;press-1;state;running",
        "2026-03-02T06:00:00+01:00;press-1;temp_c;42,5",
        "2026-03-02T06:01:00+01:00;press-1;count_total;12",
        "2026-03-02T06:02:00+01:00;press-1;product;Büro-δ",
    ]
    (data / "utf8-bom.csv").write_bytes(b"\xef\xbb\xbf" + "\r\n".join(rows[:4]).encode() + b"\r\n")
    cp = "\r\n".join(
        [
            rows[0],
            rows[4].replace("Büro-δ", "Büro"),
            "2026-03-02T06:03:00+01:00;press-1;temp_c;-3,25",
        ]
    )
    (data / "cp1252.csv").write_bytes(cp.encode("cp1252") + b"\r\n")
    db = tmp_path / "x.db"
    assert main(["ingest", "--store", f"sqlite:///{db}", "-q", str(data / "*.csv")]) == 0
    out = capsys.readouterr()
    assert "rejected" not in out.err
    with SqliteStore(db, readonly=True) as store:
        temps = store.read("press-1", "temp_c", 0, 2**62).values.tolist()
        products = store.read("press-1", "product", 0, 2**62).values.tolist()
        counts = store.read("press-1", "count_total", 0, 2**62).values.tolist()
    assert temps == [42.5, -3.25] and products == ["Büro"] and counts == [12]


def test_times_a_plc_never_set_are_read_and_written_on_every_os():
    """Windows' `datetime.fromtimestamp` raises for times before 1970 (a PLC whose clock was
    never set says 1 January 1900 or 1601): product code turns epoch ms into times one way,
    `from_ms`, which works for every `ts` a sample may have."""
    import ast
    import datetime as dt
    from importlib import resources
    from zoneinfo import ZoneInfo

    from fieldlab.domain.samples import format_ts, from_ms
    from fieldlab.i18n import formats

    ams = ZoneInfo("Europe/Amsterdam")
    for ms in (-2_208_988_800_000, -1, 0, 32_503_680_000_000, 95_617_584_000_000):
        assert from_ms(ms) == dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(milliseconds=ms)
        assert format_ts(ms).endswith("Z") and formats.when(ms, ams, "nl")
    assert format_ts(-1) == "1969-12-31T23:59:59.999Z"
    calls = []
    for package in ("fieldlab", "fieldlab.dashboards", "fieldlab.simulators", "fieldlab.recipes"):
        for path in Path(str(resources.files(package))).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Attribute) and node.attr == "fromtimestamp":
                    calls.append(f"{path.name}:{node.lineno}")
    assert calls == []


def test_ctrl_break_and_a_closed_console_stop_cleanly_where_the_loop_takes_no_handlers(
    monkeypatch,
):
    """Windows: the loop takes no signal handlers; Ctrl-Break, closing the console window and a
    service manager's stop arrive as SIGBREAK, which must run the same clean stop as Ctrl-C.
    FAKE: Linux has no SIGBREAK, so SIGUSR2 stands in for it."""
    import asyncio
    import os
    import signal

    from fieldlab.process import NO_HANDLERS_ENV, on_stop_signals

    monkeypatch.setenv(NO_HANDLERS_ENV, "1")
    monkeypatch.setattr(signal, "SIGBREAK", signal.SIGUSR2, raising=False)
    before = signal.getsignal(signal.SIGUSR2)
    stopped: list[bool] = []

    async def run() -> None:
        loop = asyncio.get_running_loop()
        assert on_stop_signals(loop, lambda: stopped.append(True)) is False
        os.kill(os.getpid(), signal.SIGUSR2)
        for _ in range(50):
            if stopped:
                return
            await asyncio.sleep(0.02)

    try:
        asyncio.run(run())
    finally:
        signal.signal(signal.SIGUSR2, before)
    assert stopped == [True]


def test_room_mode_says_the_firewall_must_let_participants_in(monkeypatch):
    """`recipe run --host 0.0.0.0`: Windows Defender's prompt leaves Public unticked and a
    participant only sees a time-out; the run says so, with a check to type."""
    from fieldlab.cli import recipe

    assert recipe.room_hints("127.0.0.1", "127.0.0.1", 8501, "en") == []
    monkeypatch.setattr(recipe.sys, "platform", "win32")
    lines = recipe.room_hints("0.0.0.0", "192.168.1.20", 8501, "nl")
    assert "poort 8501" in lines[0] and "Privénetwerken" in lines[1]
    assert "Test-NetConnection 192.168.1.20 -Port 8501" in lines[2]
    monkeypatch.setattr(recipe.sys, "platform", "darwin")
    lines = recipe.room_hints("0.0.0.0", "192.168.1.20", 8501, "en")
    assert len(lines) == 2 and "curl -sI http://192.168.1.20:8501" in lines[1]


def test_tls_clients_trust_certifi_where_the_system_has_no_store(monkeypatch):
    """python.org's Python on macOS has no CA store until "Install Certificates.command" runs:
    a cloud broker or InfluxDB Cloud failed verification. FAKE: the default store is emptied
    here, as it is there."""
    import ssl

    import certifi

    from fieldlab.config import tls

    tls._system_store_is_empty.cache_clear()
    assert tls.ca_file() is None  # Linux: the system's store, as before
    assert tls.ca_file("/etc/site/ca.pem") == "/etc/site/ca.pem"
    monkeypatch.setattr(ssl.SSLContext, "load_default_certs", lambda self, purpose=None: None)
    tls._system_store_is_empty.cache_clear()
    try:
        assert tls.ca_file() == certifi.where()
        assert tls.client_context().cert_store_stats()["x509_ca"] > 0
    finally:
        tls._system_store_is_empty.cache_clear()


def test_no_route_to_host_on_macos_says_where_to_allow_the_local_network(monkeypatch):
    from fieldlab.connectors import base

    monkeypatch.setattr(base.sys, "platform", "darwin")
    assert "Local Network" in base.with_hint("[Errno 65] No route to host")
    assert base.with_hint("timed out") == "timed out"
    monkeypatch.setattr(base.sys, "platform", "linux")
    assert base.with_hint("[Errno 113] No route to host") == "[Errno 113] No route to host"


def test_each_system_keeps_the_kits_data_in_its_own_place(monkeypatch, tmp_path):
    from fieldlab.config import paths

    monkeypatch.delenv("FIELDLAB_DATA", raising=False)
    monkeypatch.setattr(paths.Path, "home", lambda: tmp_path)
    monkeypatch.setattr(paths.sys, "platform", "win32")
    monkeypatch.setenv("LOCALAPPDATA", str(tmp_path / "Local"))
    assert paths.data_dir() == tmp_path / "Local" / "fieldlab"
    monkeypatch.setattr(paths.sys, "platform", "darwin")
    assert paths.data_dir() == tmp_path / "Library" / "Application Support" / "fieldlab"
    monkeypatch.setattr(paths.sys, "platform", "linux")
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    assert paths.data_dir() == tmp_path / ".local" / "share" / "fieldlab"
    monkeypatch.setenv("FIELDLAB_DATA", str(tmp_path / "mine"))
    assert paths.data_dir() == tmp_path / "mine"
