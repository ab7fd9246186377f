"""Discovery for engineers plugging in a new machine: what is there, and in what form.

Each protocol's `fieldlab discover <protocol>` lives in its folder as `discover.py`
(`fieldlab.connectors` says how a folder is laid out) and offers `HELP`, `EXAMPLES`,
`add_arguments(parser)` and `run(args) -> int`; this package finds them and holds what they share.
"""

from __future__ import annotations

from types import ModuleType

from fieldlab.config.addresses import check_host, check_url
from fieldlab.connectors import has_part, protocol_part, protocols
from fieldlab.errors import UsageError


def discover_modules() -> dict[str, ModuleType]:
    """Protocol → its discover module (imported: each imports its client library lazily)."""
    return {p: protocol_part(p, "discover") for p in protocols() if has_part(p, "discover")}


def check_address_url(url: str, schemes: tuple[str, ...], example: str) -> None:
    """The address as `config check` checks it: a usage error, not a library's traceback."""
    try:
        check_url(url, schemes, example)
    except ValueError as exc:
        raise UsageError(f"discover: {exc}") from None


def host_port(address: str, default_port: int) -> tuple[str, int]:
    """HOST or HOST:PORT as typed, checked; a usage error names what was expected."""
    host, sep, port = address.rpartition(":") if address.count(":") == 1 else (address, "", "")
    try:
        number = int(port) if sep else default_port
        if not 0 < number < 65536:
            raise ValueError
    except ValueError:
        raise UsageError(
            f"discover: expected HOST or HOST:PORT with a port 1-65535, got {address!r}"
        ) from None
    try:
        return check_host(host), number
    except ValueError as exc:
        raise UsageError(f"discover: {exc}") from None
