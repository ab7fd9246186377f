"""The compose stack's front door, tested here: deploy/Caddyfile (Debian's Caddy) in front of a
real `fieldlab dashboard` with login, HTTPS from Caddy's internal CA. A client that trusts that
CA's root gets the dashboard; one that does not is refused; the login page works through the
proxy (websocket included) in Chromium."""

from __future__ import annotations

import os
import ssl
import subprocess
import urllib.request
from pathlib import Path

import pytest

from tests.browser import CHROMIUM_FLAGS
from tests.services import eventually, fieldlab, free_port, require, wait_port

ROOT = Path(__file__).resolve().parents[2]

#: one worker for every module that drives Chromium beside the others: test_compose_stack.py
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("chromium")]


@pytest.fixture
def proxied(tmp_path: Path):
    from tests.browser import fill_site
    from tests.services import Process

    caddy = require("caddy")
    site = fill_site(tmp_path, "dashboard: {auth: {users_file: users.yaml}}\n")
    made = fieldlab(
        "users",
        "add",
        "anna",
        "--role",
        "admin",
        "-c",
        str(site),
        cwd=tmp_path,
        password="Werkplaats-2026!",
    )
    assert made.returncode == 0, made.stderr
    dash, https, http = free_port(), free_port(), free_port()
    env = {
        **os.environ,
        "XDG_DATA_HOME": str(tmp_path / "caddy-data"),
        "XDG_CONFIG_HOME": str(tmp_path / "caddy-config"),
        "CADDY_HTTPS_PORT": str(https),
        "CADDY_HTTP_PORT": str(http),
        "DASHBOARD_UPSTREAM": f"127.0.0.1:{dash}",
        "DASHBOARD_HOST": "localhost",
    }
    proxy = subprocess.Popen(
        [caddy, "run", "--config", str(ROOT / "deploy/Caddyfile"), "--adapter", "caddyfile"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        with Process("dashboard", "--config", str(site), "--port", str(dash)):
            wait_port(dash, 60)
            wait_port(https, 30)
            root = tmp_path / "caddy-data/caddy/pki/authorities/local/root.crt"
            eventually(root.exists, "Caddy's internal CA root")
            yield f"https://localhost:{https}", root
    finally:
        proxy.terminate()
        proxy.wait(20)


def test_dashboard_over_https_from_the_internal_ca(proxied):
    base, root = proxied
    trusting = ssl.create_default_context(cafile=str(root))

    def health() -> bytes:
        with urllib.request.urlopen(f"{base}/_stcore/health", context=trusting, timeout=5) as r:
            return r.read().strip()

    assert eventually(health, "the dashboard through Caddy") == b"ok"
    with pytest.raises(urllib.error.URLError) as refused:  # not trusted: no silent fallback
        urllib.request.urlopen(f"{base}/_stcore/health", context=ssl.create_default_context())
    assert "CERTIFICATE_VERIFY_FAILED" in str(refused.value)


def test_the_login_page_works_through_the_proxy(proxied):
    from playwright.sync_api import sync_playwright

    base, _ = proxied
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=require("chromium"), args=CHROMIUM_FLAGS)
        try:
            # the browser has no copy of the fieldlab CA; the check above is the trust test
            page = browser.new_context(ignore_https_errors=True).new_page()
            page.goto(base)
            page.get_by_role("button", name="Log in").wait_for(timeout=60_000)
            assert "press-1" not in page.inner_text("body")
        finally:
            browser.close()
