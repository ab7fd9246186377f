"""The kit's errors a person reads: each says in one line what is wrong and what to do, and the
`fieldlab` command prints it as that one line with exit status 2, never as a traceback."""

from __future__ import annotations

import errno
import socket

from fieldlab.i18n import detect_lang, t


class FieldlabError(Exception):
    """Base of the errors a user is meant to read (config, store, ports, addresses)."""


class UsageError(FieldlabError):
    """A problem with what the user typed; printed as one line, exit status 2."""


class PortInUse(FieldlabError, OSError):
    """A port the kit would listen on is taken (or not ours to take): which, for what, and the
    option that moves it. An OSError too, where code already stops on a failed bind."""

    def __init__(self, what: str, host: str, port: int, option: str, why: str = "taken"):
        lang = detect_lang()
        super().__init__(t(f"err.port.{why}", lang, what=what, port=port, host=host, option=option))
        self.what, self.host, self.port, self.option = what, host, port, option


def port_error(exc: OSError, what: str, host: str, port: int, option: str) -> Exception:
    """`exc` as a PortInUse when it says the address is taken or forbidden, else as it is."""
    if exc.errno in (errno.EADDRINUSE, getattr(errno, "WSAEADDRINUSE", -1)):
        return PortInUse(what, host, port, option)
    if exc.errno in (errno.EACCES, getattr(errno, "WSAEACCES", -1)):
        return PortInUse(what, host, port, option, "forbidden")
    if exc.errno == errno.EADDRNOTAVAIL:
        return PortInUse(what, host, port, option, "foreign")
    return exc


def check_port(what: str, host: str, port: int, option: str) -> None:
    """Raise PortInUse when a server could not listen on host:port now, before a process is
    started that would find out later and less clearly (Streamlit, a child process). Binds as
    servers do (SO_REUSEADDR where it means "reuse a TIME_WAIT port", not Windows' "share")."""
    if not port:
        return
    try:
        infos = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except OSError:
        return  # a name that does not resolve is the server's own error to give
    for family, kind, proto, _, address in infos[:1]:
        with socket.socket(family, kind, proto) as s:
            if hasattr(socket, "SO_REUSEADDR") and not hasattr(socket, "SO_EXCLUSIVEADDRUSE"):
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(address)
            except OSError as exc:
                raise port_error(exc, what, host, port, option) from None
