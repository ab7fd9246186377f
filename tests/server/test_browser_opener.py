"""#31: the demo and a workshop open the person's browser only once the dashboard answers its
health check (a cold Windows start takes Streamlit a minute: "can't reach this page" first)."""

from __future__ import annotations

import asyncio
import http.server
import threading
import time

from fieldlab.simulators.scenario import load_scenario
from fieldlab.stack import LocalStack


class _LateDashboard(http.server.BaseHTTPRequestHandler):
    """A dashboard that refuses its health check until `ready_at` (as Streamlit still loading)."""

    ready_at = 0.0

    def do_GET(self) -> None:
        ok = self.path == "/_stcore/health" and time.monotonic() >= self.ready_at
        self.send_response(200 if ok else 503)
        self.end_headers()
        self.wfile.write(b"ok" if ok else b"loading")

    def log_message(self, *args: object) -> None:
        pass


def test_the_browser_opens_only_on_a_dashboard_that_answers(tmp_path, monkeypatch):
    opened: list[tuple[str, float]] = []
    monkeypatch.setattr("webbrowser.open", lambda url: opened.append((url, time.monotonic())))
    _LateDashboard.ready_at = time.monotonic() + 2.0
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _LateDashboard)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        stack = LocalStack(load_scenario(), tmp_path)
        stack.ports.dashboard = server.server_address[1]
        assert asyncio.run(stack.open_browser_when_ready(timeout=20)) is True
        assert [u for u, _ in opened] == [stack.dashboard_url]
        assert opened[0][1] >= _LateDashboard.ready_at  # not a moment before it answered
        # a dashboard that never answers: no browser on a dead page, and a False to say so
        _LateDashboard.ready_at = time.monotonic() + 3600
        opened.clear()
        assert asyncio.run(stack.open_browser_when_ready(timeout=1.5)) is False
        assert opened == []
    finally:
        server.shutdown()
        server.server_close()
