"""Child processes that never outlive the command that started them.

`fieldlab dashboard`, `demo` and `recipe run` start a Streamlit server, `fieldlab sim --load`
its load processes. On SIGTERM or Ctrl-C the command stops them (`stop`); when the command is
SIGKILLed or crashes it cannot, so each child holds a lifeline to its parent and stops itself
when the line goes dead: a `spawn`ed child reads a pipe on its stdin that only the parent holds
open (the operating system closes it when the parent dies: end of file), a `multiprocessing`
child waits on its parent's sentinel. Both work the same on Linux, macOS and Windows, with no
process ids, `/proc`, death signals or process groups, so the tests here run the same code the
laptops run.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import multiprocessing.connection
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

#: Set by `spawn`: the child's stdin is its lifeline (a pipe only the parent writes to).
LIFELINE_ENV = "FIELDLAB_LIFELINE"


def spawn(
    cmd: Sequence[str], env: dict[str, str] | None = None, **kw: Any
) -> subprocess.Popen[Any]:
    """Start a child whose stdin is a pipe the parent keeps open: its lifeline."""
    env = {**(os.environ if env is None else env), LIFELINE_ENV: "stdin"}
    return subprocess.Popen(list(cmd), env=env, stdin=subprocess.PIPE, **kw)


def stop(proc: subprocess.Popen[Any], timeout: float = 5.0) -> int:
    """Ask a child to stop, wait, and kill it if it does not within ``timeout``."""
    if proc.poll() is None:
        proc.terminate()
    try:
        code = proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        code = proc.wait()
    if proc.stdin is not None:
        proc.stdin.close()
    return code


def _lifeline() -> Callable[[], object] | None:
    """A call that returns when the parent is gone, or None for a process nobody started."""
    if os.environ.pop(LIFELINE_ENV, None) == "stdin":  # popped: not our own children's
        if sys.stdin is None:
            return None
        fd = sys.stdin.fileno()

        def drained() -> None:
            # os.read on the descriptor, not sys.stdin's buffered reader: a daemon thread
            # blocked in the reader when the process exits (Streamlit on a port that is taken,
            # or stopped by Ctrl-C) holds its lock, and the interpreter aborts with "Fatal
            # Python error: _enter_buffered_busy", exit status 250
            with contextlib.suppress(OSError):
                while os.read(fd, 65536):
                    pass

        return drained
    parent = multiprocessing.parent_process()
    if parent is not None and parent.sentinel is not None:
        sentinel = parent.sentinel
        return lambda: multiprocessing.connection.wait([sentinel])
    return None


def watch_parent(grace_s: float = 5.0) -> None:
    """In a child: when the parent is gone, stop as SIGTERM would (the child's own clean stop),
    then for good after ``grace_s`` (at once on Windows, which has no SIGTERM to send)."""
    wait = _lifeline()
    if wait is None:
        return

    def watch() -> None:
        wait()
        if sys.platform != "win32":
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(grace_s)
        os._exit(0)

    threading.Thread(target=watch, name="watch-parent", daemon=True).start()


#: Set to 1 to run as on Windows, where the event loop takes no signal handlers: the tests
#: exercise that path on Linux with it (Ctrl-C then arrives as KeyboardInterrupt).
NO_HANDLERS_ENV = "FIELDLAB_NO_SIGNAL_HANDLERS"


def on_stop_signals(loop: asyncio.AbstractEventLoop, stop: Callable[[], object]) -> bool:
    """Call ``stop`` on SIGINT and SIGTERM, where the loop can take signal handlers (POSIX).
    Elsewhere (Windows) it returns False and Ctrl-C raises KeyboardInterrupt in the main
    thread: `asyncio.run` cancels the main task, whose `finally` blocks stop what it started.
    There, Ctrl-Break, the console window closed, a log-off and a service manager's stop arrive
    as SIGBREAK (the C runtime maps them so): that too calls ``stop``, the same clean stop."""
    if os.environ.get(NO_HANDLERS_ENV) != "1":
        try:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop)
            return True
        except (NotImplementedError, RuntimeError, AttributeError):
            pass
    brk = getattr(signal, "SIGBREAK", None)
    if brk is not None and threading.current_thread() is threading.main_thread():
        signal.signal(brk, lambda *_: loop.call_soon_threadsafe(stop))
    return False
