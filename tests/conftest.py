"""Shared for every test: nothing a test started outlives it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.services import RUNNING


@pytest.fixture(autouse=True)
def _stop_what_the_test_started() -> Iterator[None]:
    """A test that fails half-way may leave a `fieldlab` process running: stop it here. Those
    of a module's fixture (started before this runs) are the fixture's to stop."""
    before = set(RUNNING)
    yield
    for proc in list(RUNNING - before):
        proc.stop(timeout=10)
