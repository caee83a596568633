"""Who runs a trial: a process identity, and whether that process is still alive.

A trial records the identity of the process running it. When a study is opened
again, a RUNNING trial whose process is gone (killed, crashed) is marked failed as
interrupted and its configuration queued to run again.
"""

from __future__ import annotations

import os
import socket
from functools import lru_cache


def _start_ticks(pid: int) -> str | None:
    """The start time in clock ticks since boot of a live process (Linux), to tell
    reused pids apart; None when there is no such process or it is a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            stat = fh.read()
    except OSError:
        return None
    # The command name (field 2) may contain spaces; fields after its ")" are fixed.
    fields = stat[stat.rfind(")") + 2 :].split()
    if len(fields) < 20 or fields[0] in ("Z", "X"):  # killed but not yet reaped
        return None
    return fields[19]


@lru_cache(maxsize=1)
def _host() -> str:
    return socket.gethostname()


def process_identity() -> str:
    """``host:pid:start`` for the current process."""
    pid = os.getpid()
    return f"{_host()}:{pid}:{_start_ticks(pid) or '-'}"


def is_alive(identity: str | None) -> bool | None:
    """True/False for a process on this host; None when it cannot be told (other host)."""
    if not identity:
        return False
    try:
        host, pid_text, start = identity.rsplit(":", 2)
        pid = int(pid_text)
    except ValueError:
        return None
    if host != _host():
        return None
    if start != "-":
        return _start_ticks(pid) == start
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
