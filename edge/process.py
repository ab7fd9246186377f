"""Child processes that never outlive the command that started them.

`fieldlab dashboard`, `demo` and `recipe run` start a Streamlit server, `fieldlab sim --load`
its load processes. On SIGTERM or Ctrl-C the command stops them (`stop`); when the command is
SIGKILLed or crashes it cannot, so each child watches its parent (`watch_parent`) and stops
itself when the parent is gone. That works the same on Linux, macOS and Windows, where a
death signal (Linux's PR_SET_PDEATHSIG) or a process group would not.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

#: The parent's pid, handed to a child by `spawn` (a child of `multiprocessing` gets it as an
#: argument instead).
PARENT_ENV = "FIELDLAB_PARENT_PID"


def spawn(
    cmd: Sequence[str], env: dict[str, str] | None = None, **kw: Any
) -> subprocess.Popen[Any]:
    """Start a child that knows who its parent is (its `watch_parent` reads PARENT_ENV)."""
    env = {**(os.environ if env is None else env), PARENT_ENV: str(os.getpid())}
    return subprocess.Popen(list(cmd), env=env, **kw)


def stop(proc: subprocess.Popen[Any], timeout: float = 5.0) -> int:
    """Ask a child to stop, wait, and kill it if it does not within ``timeout``."""
    if proc.poll() is None:
        proc.terminate()
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


def parent_alive(pid: int) -> bool:
    if sys.platform == "win32":
        return _windows_alive(pid)
    # A process whose parent died is adopted (by init or a subreaper): its ppid changes.
    return os.getppid() == pid


def _windows_alive(pid: int) -> bool:
    import ctypes

    kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]  # ctypes has windll on Windows only
    handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:
        return False
    try:
        code = ctypes.c_ulong()
        kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
        return code.value == 259  # STILL_ACTIVE
    finally:
        kernel32.CloseHandle(handle)


def watch_parent(parent: int | None = None, every_s: float = 0.5, grace_s: float = 5.0) -> None:
    """In a child: stop this process when ``parent`` (default: PARENT_ENV) is gone, first as
    SIGTERM would (the child's own clean stop), then for good after ``grace_s``."""
    if parent is None:
        text = os.environ.get(PARENT_ENV, "")
        if not text.isdigit():
            return
        parent = int(text)
    pid = parent

    def watch() -> None:
        while parent_alive(pid):
            time.sleep(every_s)
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
    thread: `asyncio.run` cancels the main task, whose `finally` blocks stop what it started."""
    if os.environ.get(NO_HANDLERS_ENV) == "1":
        return False
    try:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop)
    except (NotImplementedError, RuntimeError, AttributeError):
        return False
    return True
