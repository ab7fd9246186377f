"""Shared for every test: the services tests talk to, and nothing a test started outlives it.

Fixtures, so a test names what it needs and gets it stopped after:

- ``broker``: a fresh Mosquitto for one test (retained messages and sessions never leak from
  one test into the next; it starts in ~50 ms, so it is not shared).
- ``influxdb1``: the session's one InfluxDB 1.6 (Debian's), started once: it takes seconds.
- ``influx``: a fresh database on it, or a fresh bucket on the InfluxDB 2.x/3.x server named by
  FIELDLAB_TEST_INFLUXDB2_URL/_TOKEN (skipped without), as (store URL, sink config).
"""

from __future__ import annotations

import contextlib
import os
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote
from urllib.request import Request, urlopen

import pytest

from tests.services import RUNNING, influxdb, mosquitto

INFLUX2 = {k: os.environ.get(f"FIELDLAB_TEST_INFLUXDB2_{k}") for k in ("URL", "TOKEN", "ORG")}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Windows runs the rest: a test marked `posix` (SIGKILL, process groups, libfaketime,
    Docker) is skipped there with its reason, never an error at collection."""
    if sys.platform != "win32":
        return
    skip = pytest.mark.skip(reason="needs POSIX signals, libfaketime or Docker")
    for item in items:
        if item.get_closest_marker("posix"):
            item.add_marker(skip)


INFLUX2_TOKEN_ENV = "FIELDLAB_TEST_INFLUXDB2_TOKEN_"


@pytest.fixture(autouse=True)
def _stop_what_the_test_started() -> Iterator[None]:
    """A test that fails half-way may leave a `fieldlab` process running: stop it here. Those
    of a module's fixture (started before this runs) are the fixture's to stop."""
    before = set(RUNNING)
    yield
    for proc in list(RUNNING - before):
        proc.stop(timeout=10)


@pytest.fixture(autouse=True)
def _keep_main_module() -> Iterator[None]:
    """AppTest runs a page as __main__ and leaves it there; a later test that starts a
    `multiprocessing` child (which re-imports __main__) would run a dashboard page in it
    instead of its target (a CI run saw `sim --load` workers never listen). Every test, since
    any test file may use AppTest."""
    main = sys.modules["__main__"]
    yield
    sys.modules["__main__"] = main


@pytest.fixture
def broker() -> Iterator[int]:
    """A fresh Mosquitto on a free loopback port: its port."""
    with mosquitto() as port:
        yield port


@pytest.fixture(scope="session")
def influxdb1() -> Iterator[int]:
    """The session's InfluxDB 1.6 on a free loopback port: its HTTP port."""
    with influxdb() as port:
        yield port


@dataclass(frozen=True)
class Influx:
    """Where a test's InfluxDB data goes: a store URL (what `store:` and `fieldlab oee -s` take)
    and the matching `sinks:` entry."""

    store_url: str
    sink: dict


def _influx1_query(port: int, q: str) -> None:
    urlopen(
        Request(f"http://127.0.0.1:{port}/query?q={quote(q)}", data=b"", method="POST"),
        timeout=10,
    ).read()


@contextlib.contextmanager
def _database(port: int) -> Iterator[Influx]:
    name = f"t{uuid.uuid4().hex[:12]}"
    _influx1_query(port, f"CREATE DATABASE {name}")
    try:
        yield Influx(
            f"influxdb://127.0.0.1:{port}/{name}",
            {"type": "influxdb", "api": "v1", "url": f"http://127.0.0.1:{port}", "database": name},
        )
    finally:
        _influx1_query(port, f"DROP DATABASE {name}")


@contextlib.contextmanager
def _bucket() -> Iterator[Influx]:
    if not (INFLUX2["URL"] and INFLUX2["TOKEN"]):
        pytest.skip("InfluxDB 2.x/3.x: set FIELDLAB_TEST_INFLUXDB2_URL and _TOKEN to run")
    from influxdb_client import InfluxDBClient

    org, name = INFLUX2["ORG"] or "fieldlab", f"t{uuid.uuid4().hex[:12]}"
    client = InfluxDBClient(url=INFLUX2["URL"], token=INFLUX2["TOKEN"], org=org)
    created = client.buckets_api().create_bucket(bucket_name=name, org=org)
    os.environ[INFLUX2_TOKEN_ENV] = INFLUX2["TOKEN"]
    host = INFLUX2["URL"].split("://", 1)[1]
    tls = "&tls=1" if INFLUX2["URL"].startswith("https") else ""
    try:
        yield Influx(
            f"influxdb2://{host}/{name}?org={org}&token_env={INFLUX2_TOKEN_ENV}{tls}",
            {
                "type": "influxdb",
                "api": "v2",
                "url": INFLUX2["URL"],
                "org": org,
                "bucket": name,
                "token_env": INFLUX2_TOKEN_ENV,
            },
        )
    finally:
        client.buckets_api().delete_bucket(created)
        client.close()


@contextlib.contextmanager
def influx_target(kind: str, request: pytest.FixtureRequest) -> Iterator[Influx]:
    """A fresh database on the session's InfluxDB 1.6 (kind "influxdb1"), or a fresh bucket on
    the InfluxDB 2.x/3.x server the environment names ("influxdb2"; skipped without one)."""
    if kind == "influxdb1":
        with _database(request.getfixturevalue("influxdb1")) as db:
            yield db
    else:
        with _bucket() as bucket:
            yield bucket


@pytest.fixture(params=["influxdb1", "influxdb2"])
def influx(request: pytest.FixtureRequest) -> Iterator[Influx]:
    """The test once on InfluxDB 1.6 and once on 2.x/3.x (see `influx_target`)."""
    with influx_target(request.param, request) as target:
        yield target


@pytest.fixture
def influx1(influxdb1: int) -> Iterator[Influx]:
    """A fresh database on the shared InfluxDB 1.6 (tests no InfluxDB 2 server can run)."""
    with _database(influxdb1) as db:
        yield db
