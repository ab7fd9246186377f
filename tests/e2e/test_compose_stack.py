"""The fieldlab server as the README runs it ("On a fieldlab server"), step by step, in Docker:
`.env` from the example, `docker compose build`, the MQTT password, `docker compose up -d
--wait`; then simulators → Mosquitto (with a password) → gateway → InfluxDB → dashboard, and
Chromium through Caddy, trusting Caddy's root as the README tells users, logged in as the first
admin, sees every machine's tile with the OEE that `fieldlab oee` computes in the gateway
container. A gateway restart loses no message; `down` and `up`, and a backup restored onto
fresh volumes, keep the data and the users; no log holds a traceback.

Public images cannot be pulled on the CI machines: `tests/compose/standins/build` makes
python:3.11-slim, eclipse-mosquitto:2 and caddy:2 from Debian packages with the official paths,
users and entrypoints, and InfluxDB 1.x stands in for 2.7 through `tests/compose/override.yaml`.
The project runs as `fieldlab-e2e`, not `fieldlab`, so a developer's own stack is left alone."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from tests.browser import CHROMIUM_FLAGS, login
from tests.services import free_port, missing

ROOT = Path(__file__).resolve().parents[2]
PROJECT = "fieldlab-e2e"
MACHINES = ("filler-1", "laser-1")  # deploy/site.compose.yaml
VOLUMES = (
    "influxdb-data",
    "influxdb-config",
    "gateway-data",
    "dashboard-data",
    "mosquitto-config",
    "mosquitto-data",
    "caddy-data",
)
#: Docker's networks coming and going make Chromium abort page loads beside them
#: (ERR_NETWORK_CHANGED): every module that drives Chromium outside the serial part runs on one
#: worker, one after another (make test: --dist loadgroup)
#: Docker
pytestmark = [pytest.mark.posix, pytest.mark.xdist_group("chromium")]


def _docker_ready() -> None:
    for probe in (["docker", "info"], ["docker", "compose", "version"]):
        try:
            ok = subprocess.run(probe, capture_output=True, timeout=30).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            ok = False
        if not ok:
            missing("A Docker engine with Compose v2", ".ci/run installs docker.io, starts dockerd")


class Stack:
    """`docker compose` in a copy of the project, as a user's clone runs it."""

    def __init__(self, work: Path, port: int):
        self.work, self.port = work, port
        self.env = {
            **os.environ,
            "COMPOSE_PROJECT_NAME": PROJECT,
            "COMPOSE_FILE": "docker-compose.yml:tests/compose/override.yaml",
        }
        extra = sorted(Path("/usr/local/share/ca-certificates").glob("*.crt"))
        if extra:  # this machine's proxy CA, as the README tells users behind one
            self.env["CA_CERTS"] = "".join(p.read_text() for p in extra)

    def sh(self, cmd: str, timeout: float = 300) -> str:
        """One of the README's commands, as written there (bash, in the clone)."""
        done = subprocess.run(
            ["bash", "-c", cmd],
            cwd=self.work,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert done.returncode == 0, f"{cmd}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        return done.stdout

    def influx(self, query: str) -> list[dict[str, str]]:
        out = self.sh(
            "docker compose exec -T influxdb influx -database fieldlab -format csv "
            f'-execute "{query}"'
        )
        return list(csv.DictReader(io.StringIO(out)))

    def oee(self, *args: str) -> dict[str, dict]:
        out = self.sh(
            "docker compose exec -T gateway fieldlab oee -c /config/site.yaml --json "
            + " ".join(args)
        )
        return {r["machine"]: r for r in json.loads(out)}

    def states(self, machine: str) -> list[str]:
        rows = self.influx(f"SELECT value FROM state WHERE machine='{machine}'")
        return [r["value"] for r in rows]

    def counts(self, machine: str = "filler-1") -> list[int]:
        rows = self.influx(f"SELECT value FROM count_total WHERE machine='{machine}'")
        return [int(float(r["value"])) for r in rows]

    def logs_without_traceback(self) -> None:
        logs = self.sh("docker compose logs --no-color")
        assert "Traceback" not in logs, logs[logs.index("Traceback") - 2000 :][:4000]


def _wait(what: str, check, timeout: float = 120, every: float = 2.0, stack=None):
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() > deadline:
            logs = stack.sh("docker compose logs --no-color --tail 40") if stack else ""
            raise AssertionError(f"{what}: not within {timeout:.0f} s\n{logs}")
        time.sleep(every)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    _docker_ready()
    build = subprocess.run(
        [str(ROOT / "tests/compose/standins/build")], capture_output=True, text=True, timeout=900
    )
    assert build.returncode == 0, build.stdout + build.stderr
    work = tmp_path_factory.mktemp("server") / "fieldlab-kit"
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, files):
        src = ROOT / name.decode()
        if src.is_file():
            (work / name.decode()).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, work / name.decode())
    # the default scenario without its breaks (override.yaml): units at whatever hour this runs
    scenario = yaml.safe_load((ROOT / "simulators/scenarios/default.yaml").read_text())
    scenario["calendar"].pop("breaks", None)
    (work / "tests/compose/scenario.yaml").write_text(yaml.safe_dump(scenario))
    s = Stack(work, free_port())
    try:
        # README: cp .env.example .env && $EDITOR .env
        s.sh("cp .env.example .env")
        env = (work / ".env").read_text()
        env = re.sub(r"change-me[\w-]*", "e2e-secret-2026", env)
        env = env.replace("DASHBOARD_HTTPS_PORT=443", f"DASHBOARD_HTTPS_PORT={s.port}")
        (work / ".env").write_text(env + "DASHBOARD_ADDRESS=127.0.0.1\n")
        s.sh("docker compose build", timeout=900)
        # volumes an older image left to root (its /data was root's): the stack still starts
        for v in ("gateway-data", "dashboard-data"):
            s.sh(
                f"docker volume create {PROJECT}_{v} && {_AS_ROOT} -v {PROJECT}_{v}:/data "
                "fieldlab-kit:latest chown -R 0:0 /data"
            )
        s.sh("docker compose run --rm mosquitto-passwd")
        s.sh("docker compose up -d --wait --wait-timeout 180", timeout=240)
        yield s
    finally:
        subprocess.run(
            ["bash", "-c", "docker compose down -v --remove-orphans"],
            cwd=work,
            env=s.env,
            capture_output=True,
            timeout=180,
        )


_AS_ROOT = "docker run --rm --user root --entrypoint env"


def _browser_tiles(stack: Stack, home: Path) -> tuple[dict[str, str], str]:
    """Log in through Caddy as the first admin; every machine's OEE as its tile shows it, and
    the time the dashboard computes to (the sidebar's "Now", "Simulated time" when ahead)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_FLAGS, env={"HOME": str(home)}
        )
        try:
            page = browser.new_page()
            login(page, f"https://localhost:{stack.port}", "admin", "e2e-secret-2026")
            page.get_by_text("Logged in as admin (admin)").wait_for(timeout=60_000)
            metric = '[data-testid="stMetricValue"]'
            _wait(
                "a tile per machine",
                lambda: page.locator(metric).count() >= len(MACHINES),
                60,
                0.5,
            )
            page.wait_for_timeout(1000)
            tiles: dict[str, str] = {}
            for m in MACHINES:
                # the smallest block that holds one OEE figure and the machine's heading
                tiles[m] = page.evaluate(
                    """([m, metric]) => {
                      const boxes = [...document.querySelectorAll('div')].filter(d =>
                        d.querySelectorAll(metric).length === 1 &&
                        d.innerText.includes(m + ' ·'));
                      boxes.sort((a, b) => a.innerText.length - b.innerText.length);
                      return boxes.length ? boxes[0].querySelector(metric).innerText : null;
                    }""",
                    [m, metric],
                )
                assert tiles[m], (m, page.inner_text("body")[:2000])
            body = page.inner_text("body")
        finally:
            browser.close()
    found = re.search(r"(?:Simulated time|Now): \w+ (\d+ \w+ \d{4} \d\d:\d\d:\d\d)", body)
    assert found, body[:2000]
    return tiles, found.group(1)


def _trust_caddy(stack: Stack, tmp: Path) -> Path:
    """README: copy Caddy's root out of its volume and import it as a trusted authority (for
    Chromium on Linux: the user's NSS database)."""
    stack.sh("docker compose cp caddy:/data/caddy/pki/authorities/local/root.crt fieldlab-ca.crt")
    home = tmp / "home"
    db = home / ".pki" / "nssdb"
    db.mkdir(parents=True)
    for cmd in (
        ["certutil", "-d", f"sql:{db}", "-N", "--empty-password"],
        ["certutil", "-d", f"sql:{db}", "-A", "-t", "C,,", "-n", "fieldlab", "-i"]
        + [str(stack.work / "fieldlab-ca.crt")],
    ):
        subprocess.run(cmd, check=True, capture_output=True, timeout=30)
    return home


@pytest.mark.slow
def test_the_server_stack_runs_as_the_readme_says(stack, tmp_path):
    # every machine's data arrives: simulators → Mosquitto (password) → gateway → InfluxDB
    arrived = lambda: all(stack.states(m) for m in MACHINES)  # noqa: E731
    _wait("both machines in InfluxDB", arrived, 180, 1, stack)
    _wait("the filler's units", lambda: len(stack.counts()) > 5, 120, 1, stack)
    stack.logs_without_traceback()

    # a gateway restart loses no message: the filler's counter, published at every unit,
    # arrives with no step missing (a persistent session, acknowledged after the queue)
    before = len(stack.counts())
    stack.sh("docker compose restart gateway")
    _wait("the gateway back", lambda: len(stack.counts()) > before + 5, 120, 1, stack)
    counts = stack.counts()
    steps = [b - a for a, b in zip(counts, counts[1:], strict=False)]
    assert set(steps) == {1}, [(i, s) for i, s in enumerate(steps) if s != 1][:10]

    # the tiles show what `fieldlab oee` computes, for the same window: the simulators are
    # stopped first, so the data's newest time (the dashboard's now) stands still
    stack.sh("docker compose stop simulators")
    time.sleep(3)
    home = _trust_caddy(stack, tmp_path)
    tiles, newest = _browser_tiles(stack, home)
    to = dt.datetime.strptime(newest, "%d %b %Y %H:%M:%S").strftime("%Y-%m-%dT%H:%M:%S")
    cli = stack.oee("--to", to)
    for m in MACHINES:
        r = cli[m]
        if r["oee"] is None:  # no unit yet (the laser's cycle is 45 s): undefined in both
            assert tiles[m].strip() in ("–", "no data"), (m, tiles[m])
            continue
        shown = float(tiles[m].replace("%", "").replace(",", ".").strip())
        # the tile rounds to 0.1 pp, the JSON to 0.001; the CLI's end is the second shown
        slack = 0.06 + 100 * (r["oee"] or 0) / max(r["planned_s"], 1)
        assert abs(shown - 100 * r["oee"]) <= slack, (m, tiles[m], r["oee"], r["planned_s"])
    stack.logs_without_traceback()

    # down and up: the data and the users live on volumes
    points = len(stack.counts())
    stack.sh("docker compose down", timeout=180)
    stack.sh("docker compose up -d --wait --wait-timeout 180", timeout=240)
    assert len(stack.counts()) >= points
    users = stack.sh(
        "docker compose run --rm --no-deps --entrypoint fieldlab dashboard-admin "
        "users list -c /config/site.yaml"
    )
    assert "admin" in users, users  # the users file kept (the login itself: after the restore)

    # README: back up the volumes, lose them (`down -v`), restore them onto fresh ones
    backup = stack.work / "backup"
    points = len(stack.counts())
    readme = (ROOT / "README.md").read_text()
    back_up = _readme_block(readme, "# back up")
    restore = _readme_block(readme, "# restore")
    stack.sh(back_up.replace("project=fieldlab", f"project={PROJECT}"), timeout=300)
    assert sorted(p.name for p in backup.iterdir()) == sorted(f"{v}.tgz" for v in VOLUMES)
    stack.sh("docker compose down -v", timeout=180)
    stack.sh(restore.replace("project=fieldlab", f"project={PROJECT}"), timeout=300)
    assert len(stack.counts()) >= points
    tiles_restored, _ = _browser_tiles(stack, home)  # Caddy's CA restored: still trusted
    assert set(tiles_restored) == set(MACHINES)
    stack.logs_without_traceback()

    # a volume the image's user may not write, without the data-owner step: one line that says
    # which folder and what to do, no traceback
    stack.sh(f"{_AS_ROOT} -v {PROJECT}_dashboard-data:/data fieldlab-kit:latest chown 0:0 /data")
    # (`docker run`: `docker compose run` exits 0 whatever the command did, on Debian's engine)
    denied = subprocess.run(
        [
            "bash",
            "-c",
            "docker run --rm -e FIELDLAB_PASSWORD=e2e-secret-2026 "
            f"-v {PROJECT}_dashboard-data:/data "
            "-v $PWD/tests/compose/site.influx1.yaml:/config/site.yaml:ro fieldlab-kit:latest "
            "users add piet --role viewer -c /config/site.yaml",
        ],
        cwd=stack.work,
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = denied.stderr.strip().splitlines()
    assert denied.returncode == 2 and "Traceback" not in denied.stderr, denied.stderr
    assert "cannot write /data/" in lines[-1] and "belongs to uid 0" in lines[-1], lines
    assert "--user root --entrypoint chown" in lines[-1], lines


def _readme_block(readme: str, first_line: str) -> str:
    """The README's shell block that starts with `first_line`: the test runs what users read."""
    for block in re.findall(r"```sh\n(.*?)```", readme, re.S):
        if block.startswith(first_line):
            return block
    raise AssertionError(f"no ```sh block starting {first_line!r} in README.md")
