"""Run a command with its stderr on a pseudo-terminal and read what it showed there.

Progress bars must appear on a terminal only; a pty of 24 x 100 stands for one (a fresh pty
has no size, and tqdm would draw a bar 0 wide).
"""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import termios
from collections.abc import Sequence
from pathlib import Path


def run_on_terminal(command: Sequence[str], cwd: Path | None = None,
                    timeout: float = 120) -> tuple[subprocess.CompletedProcess[bytes], bytes]:
    """The finished command (stdout captured) and every byte it wrote to the terminal."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    try:
        done = subprocess.run(list(command), cwd=cwd, stdout=subprocess.PIPE, stderr=follower,
                              timeout=timeout, check=False)
        os.close(follower)
        shown = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the other side is closed and drained
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(leader)
    return done, shown
