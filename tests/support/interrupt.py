"""Ctrl-C a real command at the moment a test chooses."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

HANG = 300  # seconds: a guard against a hung command, not a measure of speed


@dataclass(frozen=True)
class Interrupted:
    returncode: int
    stderr: str
    stdout: str = ""


def interrupt_when(
    argv: Sequence[object],
    ready: Callable[[], bool],
    settle: float = 0.3,
    module: str = "conda_vendor_plugin",
    env: Mapping[str, str] | None = None,
) -> Interrupted:
    """Run ``python -m MODULE ARGV`` (default: this tool; ``conda`` for the conda side),
    wait until ``ready()`` (the command reached the point under test), ``settle`` seconds
    more, then send SIGINT.

    How soon it stops is for the test to show by events (the server saw the connection
    close while it was still holding the answer), never by a clock."""
    cmd = [sys.executable, "-m", module, *map(str, argv)]
    environ = {**(env or os.environ), "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"}
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environ
    )
    deadline = time.monotonic() + HANG
    while not ready():
        if proc.poll() is not None:
            raise AssertionError(f"exited {proc.returncode} first: {proc.communicate()[1]}")
        if time.monotonic() > deadline:  # a hung command, not a slow one: HANG is generous
            proc.kill()
            raise AssertionError(f"hung: never reached the point: {proc.communicate()[1]}")
        time.sleep(0.01)
    time.sleep(settle)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=HANG)
    return Interrupted(proc.returncode, stderr, stdout)
