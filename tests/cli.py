"""Running the real ``tunelab`` command in a subprocess, and reading a pseudo-terminal."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def tunelab(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``python -m tunelab.cli ARGS`` in ``cwd``, output captured, 200 columns wide."""
    return subprocess.run(
        [sys.executable, "-m", "tunelab.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
        timeout=600,
    )


def read_terminal(master: int) -> bytes:
    """Everything written to a pseudo-terminal until the child closes it."""
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    return b"".join(chunks)
