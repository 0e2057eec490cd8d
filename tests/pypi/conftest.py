"""Shared by the ``pip:`` tests: a conda channel with ``python`` and a PEP 503 index of
real PyPI wheels (../shared/testdata/pypi), both served on 127.0.0.1."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ..support.build import Pkg
from ..support.pypi import PLATFORMS, python_channel, write_simple_index
from ..support.server import ChannelServer


@pytest.fixture(autouse=True)
def _no_pip_config(monkeypatch: pytest.MonkeyPatch) -> None:
    """pip reads no configuration of this machine; loopback is never proxied."""
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    for name in list(os.environ):
        if name.startswith("PIP_") and name != "PIP_CONFIG_FILE":
            monkeypatch.delenv(name)


@pytest.fixture
def served(tmp_path: Path, http_server: ChannelServer, shared_testdata: Path):
    """(channel URL, index URL, served directory) over real wheels and the sdist."""
    pypi = shared_testdata / "pypi"
    write_simple_index(
        tmp_path / "served" / "pypi",
        [*sorted((pypi / "wheels").iterdir()), pypi / "sdist" / "pathtools-0.1.2.tar.gz"],
    )
    urllib3 = Pkg("urllib3", "2.8.0", "pyh_0", depends=["python"])
    old_idna = Pkg("idna", "1.0", "pyh_0", depends=["python"])
    python_channel(tmp_path / "served" / "conda", extra=[urllib3, old_idna])
    url = http_server.url
    return f"{url}/conda", f"{url}/pypi/simple/", tmp_path / "served"


def env_file(path: Path, channel: str, deps: list[str], pip: list[str], platforms=PLATFORMS):
    lines = ["name: demo", "channels:", f'  - "{channel}"', "dependencies:"]
    lines += [f'  - "{d}"' for d in deps]
    lines += ["  - pip:", *(f'    - "{p}"' for p in pip)]
    lines += ["platforms:", *(f"  - {p}" for p in platforms)]
    path.write_text("\n".join(lines) + "\n")
    return path
