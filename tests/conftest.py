"""Shared fixtures: loopback channel servers over copies of real and generated channels."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from .support.server import ChannelServer

ROOT = Path(__file__).resolve().parent.parent
# ../shared/testdata beside the checkout; a git worktree at <project>/wt/<name> uses the one
# beside <project>/main.
_CANDIDATES = (ROOT.parent / "shared" / "testdata", ROOT.parents[1] / "shared" / "testdata")
SHARED = next((p for p in _CANDIDATES if p.is_dir()), _CANDIDATES[0])


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """No test reads or writes the user's caches or conda configuration."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("CONDA_OVERRIDE_CUDA", "")
    monkeypatch.setenv("CONDARC", str(home / ".condarc"))
    monkeypatch.setenv("CONDA_PKGS_DIRS", str(home / "pkgs"))


@pytest.fixture(scope="session")
def shared_testdata() -> Path:
    if not SHARED.is_dir():
        pytest.skip("../shared/testdata is not present next to this checkout")
    return SHARED


@pytest.fixture
def shared_channel(shared_testdata: Path, tmp_path: Path):
    """Copy a channel from ../shared/testdata/channels into tmp_path and return its path."""

    def copy(name: str) -> Path:
        dest = tmp_path / "served" / name
        shutil.copytree(shared_testdata / "channels" / name, dest)
        return dest

    return copy


@pytest.fixture
def http_server(tmp_path: Path):
    """A real HTTP server on 127.0.0.1 serving tmp_path/served (Range, ETag, faults)."""
    root = tmp_path / "served"
    root.mkdir(exist_ok=True)
    with ChannelServer(root) as srv:
        yield srv


@pytest.fixture
def registry(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory):
    """A real OCI registry (Debian's docker-registry) on 127.0.0.1 over TLS, no auth."""
    from .support import registry as reg

    reg.require()
    with reg.Registry(tmp_path / "registry", certs=reg.certificates(tmp_path_factory)) as r:
        yield r


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]):
    """``python -m conda_vendor_plugin ARGS`` in-process (the same code as the command):
    ``run(*args) -> (exit status, stdout, stderr)``."""
    from conda_vendor_plugin import cli

    def call(*argv: object) -> tuple[int, str, str]:
        capsys.readouterr()
        rc = cli.main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return rc, out, err

    return call
