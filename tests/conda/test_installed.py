"""An installed environment as an input, in both modes: ``env lock -n NAME`` / ``-p PREFIX``
writes what conda-meta records (no solve), ``vendor -n NAME -o OUT`` bundles it with the
original repodata entries of the channels its packages came from. The environment is made
by a real conda from a channel served over loopback HTTP."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conda_vendor_plugin.formats import explicit_v1

from ..support.condarun import Served, conda, conda_meta
from ..support.locking import run_module
from .conftest import HOST

MODES = ["standalone", "conda"]


def _lock(mode: str, env: dict[str, str], *args: object, cwd: Path | None = None):
    if mode == "conda":
        return conda(env, "env", "lock", *map(str, args), cwd=cwd)
    return run_module("conda_vendor_plugin", "lock", *map(str, args), env=env, cwd=cwd)


def _vendor(mode: str, env: dict[str, str], *args: object):
    if mode == "conda":
        return conda(env, "vendor", *map(str, args))
    return run_module("conda_vendor_plugin", "vendor", *map(str, args), env=env)


@pytest.fixture
def named(served: Served, env: dict[str, str]) -> Path:
    """``work``, an environment under the test's CONDA_ENVS_DIRS, with a pip-installed
    package beside its conda packages."""
    prefix = Path(env["CONDA_ENVS_DIRS"]) / "work"
    proc = conda(env, "create", "-y", "-n", "work", "-c", served.url, "app")
    assert proc.returncode == 0, proc.stderr
    dist = prefix / "lib" / "python3.12" / "site-packages" / "rich-13.7.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "INSTALLER").write_text("pip\n")
    (dist / "METADATA").write_text("Name: rich\nVersion: 13.7.1\n")
    return prefix


@pytest.mark.parametrize("mode", MODES)
def test_env_lock_of_an_installed_environment_is_what_conda_meta_records(
    named: Path, served: Served, env: dict[str, str], tmp_path: Path, mode: str
) -> None:
    proc = _lock(mode, env, "-n", "work", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lock = explicit_v1.load(tmp_path / "work.lock.yml")
    assert lock.platforms == (HOST,) and lock.name == "work"
    meta = conda_meta(named)
    assert [p.name for p in lock.packages[HOST]] == ["lib", "app"]  # install order
    for p in lock.packages[HOST]:
        record = meta[p.name]
        assert (p.url, p.sha256, p.md5, p.size) == (
            record["url"],
            record["sha256"],
            record["md5"],
            record["size"],
        )
    assert "rich 13.7.1 was installed by pip, not conda: not locked" in proc.stderr
    by_path = _lock(mode, env, "-p", named, "-o", tmp_path / "p.lock.yml")
    assert by_path.returncode == 0, by_path.stderr
    assert (tmp_path / "p.lock.yml").read_bytes() == (tmp_path / "work.lock.yml").read_bytes()
    other = _lock(mode, env, "-n", "nowhere", cwd=tmp_path)
    assert other.returncode == 2 and "-n nowhere: no environment of that name" in other.stderr


def test_both_modes_lock_an_installed_environment_to_the_same_bytes(
    named: Path, env: dict[str, str], tmp_path: Path
) -> None:
    for mode in MODES:
        assert _lock(mode, env, "-p", named, "-o", tmp_path / f"{mode}.yml").returncode == 0
    assert (tmp_path / "conda.yml").read_bytes() == (tmp_path / "standalone.yml").read_bytes()


@pytest.mark.parametrize("mode", MODES)
def test_vendor_bundles_an_installed_environment_with_original_entries(
    named: Path, served: Served, env: dict[str, str], tmp_path: Path, mode: str
) -> None:
    out = tmp_path / "OUT"
    proc = _vendor(mode, env, "-n", "work", "-o", out, "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["packages"] == 2
    local = next(p for p in out.iterdir() if p.name.startswith("local_"))
    vendored = json.loads((local / HOST / "repodata.json").read_text())
    upstream = json.loads((served.path / HOST / "repodata.json").read_text())
    for section in ("packages", "packages.conda"):
        for fn, entry in vendored.get(section, {}).items():
            assert entry == upstream[section][fn], fn  # the original entry, unchanged
    assert _vendor(mode, env, "verify", out).returncode == 0
