"""Installed as users install Python tools: the wheel, built from this checkout, in a fresh
virtual environment outside it, run from another folder. site-packages gets one import package
(`fieldlab`) and every file the commands need (scenarios, recipes, dashboard pages).

The fresh environment takes the wheel only; its dependencies come from the test environment
through a .pth line (the dependencies are not what is tested here, and fetching them again
would make CI slower and need the registry)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import urllib.request
import zipfile
from pathlib import Path

import pytest

from fieldlab.stack import free_port
from tests.browser import CHROMIUM_FLAGS
from tests.services import eventually, require, running

ROOT = Path(__file__).resolve().parents[2]

#: its tests share a module fixture: one worker runs them all (make test: --dist loadgroup)
#: one worker for every module that drives Chromium beside the others: test_compose_stack.py
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("chromium")]


# session, not module: the Chromium group's modules may interleave on their worker, and a module
# fixture is torn down whenever the module changes (CI built this venv three times)
@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The `bin` folder of a fresh venv with the wheel installed."""
    tmp = tmp_path_factory.mktemp("wheel")
    # From a copy: setuptools keeps a build/ folder in the source, whose stale modules (a file
    # moved away since) would end up in the wheel of a checkout that built one before.
    src = tmp / "src"
    shutil.copytree(
        ROOT,
        src,
        ignore=shutil.ignore_patterns(
            ".git",
            ".venv*",
            ".mypy*",
            "build",
            "*.egg-info",
            "__pycache__",
            ".*_cache",
            ".hypothesis",
            ".node-opcua",  # the test servers .ci/run fetches, not the kit
            ".mosquitto*",
        ),
    )
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-v", "-w", str(tmp), str(src)],
        check=True,
        timeout=300,
        capture_output=True,
        text=True,
    )
    # the packaging configuration says everything it ships: no "would be ignored" / "is
    # absent from the `packages` configuration" warnings (make demo printed ~400 lines of them)
    log = built.stdout + built.stderr
    assert "would be ignored" not in log and "is absent" not in log, log[-3000:]
    wheel = next(tmp.glob("fieldlab_kit-*.whl"))
    tops = {n.split("/")[0] for n in zipfile.ZipFile(wheel).namelist() if "/" in n}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"fieldlab"}, tops
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    bin_dir = venv / ("Scripts" if os.name == "nt" else "bin")
    site = Path(
        subprocess.run(
            [
                str(bin_dir / "python"),
                "-c",
                "import sysconfig; print(sysconfig.get_paths()['purelib'])",
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [str(bin_dir / "python"), "-m", "pip", "install", "-q", "--no-deps", str(wheel)],
        check=True,
        timeout=300,
    )
    return bin_dir


def run(bin_dir: Path, *args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "FIELDLAB_RECIPES")}
    return subprocess.run(
        [str(bin_dir / "fieldlab"), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def test_the_wheel_installs_one_import_package_that_is_not_the_checkout(installed, tmp_path):
    out = subprocess.run(
        [str(installed / "python"), "-c", "import fieldlab, sys; print(fieldlab.__file__)"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "site-packages" in out.stdout and str(ROOT) not in out.stdout, out.stdout
    module = subprocess.run(
        [str(installed / "python"), "-m", "fieldlab", "--version"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert module.returncode == 0 and "fieldlab" in module.stdout, module.stderr


def test_demo_and_recipes_run_from_the_installed_wheel(installed, tmp_path):
    demo = run(
        installed,
        "demo",
        "--for",
        "10s",
        "--no-browser",
        "--workdir",
        str(tmp_path / "d"),
        cwd=tmp_path,
    )
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "fieldlab demo: ready in" in demo.stdout and "Traceback" not in demo.stderr
    listing = run(installed, "recipe", "list", cwd=tmp_path)
    assert listing.returncode == 0 and "eerste-stap" in listing.stdout, listing.stderr
    check = run(
        installed, "recipe", "check", "eerste-stap", "--workdir", str(tmp_path / "r"),
        cwd=tmp_path, timeout=600,
    )  # fmt: skip
    assert check.returncode == 0, check.stdout + check.stderr
    assert "OK: within tolerance" in check.stdout


def test_dashboard_serves_from_the_installed_wheel(installed, tmp_path):
    (tmp_path / "site.yaml").write_text("timezone: Europe/Amsterdam\nstore: sqlite:///f.db\n")
    port = free_port()
    proc = subprocess.Popen(
        [str(installed / "fieldlab"), "dashboard", "-c", "site.yaml", "--port", str(port)],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:

        def healthy() -> bool:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                return r.read().strip() == b"ok"

        eventually(healthy, "the installed dashboard to answer", 60)
        # In a real browser: the installed app and its pages run (an empty store is explained).
        from playwright.sync_api import sync_playwright

        with sync_playwright() as pw:
            # FIELDLAB_CHROMIUM=playwright: Playwright's own build (the Windows/macOS workflow)
            own = os.environ.get("FIELDLAB_CHROMIUM") == "playwright"
            exe = None if own else require("chromium")
            browser = pw.chromium.launch(executable_path=exe, args=CHROMIUM_FLAGS)
            try:
                page = browser.new_page()
                page.goto(f"http://127.0.0.1:{port}/")
                page.get_by_role("heading", name="Overview").wait_for(timeout=60_000)
                page.get_by_text("No data yet").wait_for(timeout=30_000)
                assert page.locator('[data-testid="stException"]').count() == 0
            finally:
                browser.close()
    finally:
        proc.terminate()
        proc.wait(15)


def test_the_installed_gateway_runs_its_workers(installed, tmp_path, broker):
    """`gateway: {workers: N}` starts processes by spawn, which imports the program again: from
    the installed console script in another folder both workers come up and read, and none
    outlives the gateway."""
    import signal

    import paho.mqtt.client as mqtt
    import yaml
    from paho.mqtt.enums import CallbackAPIVersion

    from tests.sim_gateway import health, wait_connected, write_site

    http = free_port()
    source = {"type": "mqtt", "url": f"mqtt://127.0.0.1:{broker}", "client_id": "wheel-gw"}
    site = write_site(tmp_path / "site.yaml", http, [source])
    doc = yaml.safe_load(site.read_text())
    doc["gateway"]["workers"] = 2
    site.write_text(yaml.safe_dump(doc))
    log = (tmp_path / "gateway.log").open("w")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.Popen(
        [str(installed / "fieldlab"), "gateway", "-c", "site.yaml"],
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    try:
        wait_connected(http, 60)
        pids = [w["pid"] for w in health(http)["workers"]]
        assert len(pids) == 2, health(http)
        pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="wheel-pub")
        pub.connect("127.0.0.1", broker)
        pub.loop_start()
        infos = [
            pub.publish(f"fieldlab/f/a/m{i % 4}/v", f'{{"ts": {1772427600000 + i}, "value": 1}}', 1)
            for i in range(200)
        ]
        for info in infos:
            info.wait_for_publish(10)
        pub.disconnect()
        pub.loop_stop()
        eventually(lambda: health(http)["sources"][0]["samples"] >= 200, "200 samples", 30)
        assert sum(w["samples"] for w in health(http)["workers"]) >= 200
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
        eventually(lambda: not running(pids), "the workers gone", 10, detail=lambda: pids)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        log.close()
    assert "Traceback" not in (tmp_path / "gateway.log").read_text()
