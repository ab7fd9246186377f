"""Certificates for the kit's TLS clients (MQTT brokers, InfluxDB Cloud, alert channels).

Python from python.org on macOS has no CA store until someone runs its "Install
Certificates.command": every TLS connection to a cloud broker or InfluxDB then fails with
"certificate verify failed". Where the system's store is empty, the clients use certifi's
(installed with the kit), so a laptop needs no extra step."""

from __future__ import annotations

import functools
import ssl


@functools.cache
def _system_store_is_empty() -> bool:
    return ssl.create_default_context().cert_store_stats()["x509_ca"] == 0


def ca_file(explicit: str | None = None) -> str | None:
    """The CA file a client should trust: the site file's, else None (the system's store),
    else, where that store is empty, certifi's bundle."""
    if explicit:
        return explicit
    if _system_store_is_empty():
        try:
            import certifi
        except ImportError:
            return None
        return str(certifi.where())
    return None


def client_context(explicit: str | None = None) -> ssl.SSLContext:
    """A verifying client context with `ca_file`'s trust."""
    return ssl.create_default_context(cafile=ca_file(explicit))
