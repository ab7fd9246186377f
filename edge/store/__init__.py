"""Stores: where samples are kept, behind one interface (``Store``)."""

from __future__ import annotations

from pathlib import Path

from fieldlab.store.base import Store, StoreError
from fieldlab.store.sqlite import SqliteStore

__all__ = ["SqliteStore", "Store", "StoreError", "open_store"]


def open_store(url: str, *, base_dir: str | Path | None = None, readonly: bool = False) -> Store:
    """Open a store by URL. ``sqlite:///rel/path.db`` is relative to ``base_dir`` (the config
    file's folder) or the working directory; ``sqlite:////abs/path.db`` is absolute."""
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        if not path.is_absolute() and base_dir is not None:
            path = Path(base_dir) / path
        return SqliteStore(path, readonly=readonly)
    if url.startswith(("influxdb://", "influxdb2://")):
        from fieldlab.store.influxdb import InfluxStore

        return InfluxStore(url)
    if "://" not in url and url.endswith((".db", ".sqlite", ".sqlite3")):
        return SqliteStore(Path(url), readonly=readonly)
    scheme = url.split("://", 1)[0] if "://" in url else url
    raise StoreError(
        f"store {url!r}: unknown kind {scheme!r}; expected sqlite:///PATH, "
        "influxdb://HOST:PORT/DB or influxdb2://HOST:PORT/BUCKET?org=ORG"
    )
