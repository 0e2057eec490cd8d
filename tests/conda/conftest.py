"""conda's reader and writer of explicit-1.0: every test runs a real conda (skipped where
conda is not importable) against a channel served over loopback HTTP."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("conda")

from conda.base.context import context

from ..support.condarun import Served, app_channel, conda_environ
from ..support.server import ChannelServer

HOST = context.subdir
OTHER = "win-64" if HOST != "win-64" else "linux-64"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return conda_environ(tmp_path)


@pytest.fixture
def served(tmp_path: Path):
    chan = app_channel(tmp_path / "served" / "chan", HOST, OTHER)
    with ChannelServer(tmp_path / "served") as server:
        yield Served(server, f"{server.url}/chan", chan)
