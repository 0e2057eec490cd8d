"""Ctrl-C a real command at the moment a test chooses, and time how long it takes to exit."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Interrupted:
    returncode: int
    stderr: str
    stdout: str
    elapsed: float  # seconds from SIGINT to exit


def interrupt_when(
    argv: Sequence[object],
    ready: Callable[[], bool],
    settle: float = 0.3,
    timeout: float = 30,
    module: str = "conda_vendor_plugin",
    env: Mapping[str, str] | None = None,
) -> Interrupted:
    """Run ``python -m conda_vendor_plugin ARGV``, wait until ``ready()`` (the command
    reached the point under test), ``settle`` seconds more, then send SIGINT."""
    cmd = [sys.executable, "-m", module, *map(str, argv)]
    environ = {**(env or os.environ), "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"}
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environ
    )
    deadline = time.monotonic() + timeout
    while not ready():
        assert proc.poll() is None and time.monotonic() < deadline, "never reached the point"
        time.sleep(0.01)
    time.sleep(settle)
    proc.send_signal(signal.SIGINT)
    interrupted = time.monotonic()
    stdout, stderr = proc.communicate(timeout=timeout)
    return Interrupted(proc.returncode, stderr, stdout, time.monotonic() - interrupted)
