"""A whole environment crosses the gap inside a real conda: ``conda vendor`` of an
environment file with a ``pip:`` section, the channel and the index then gone, and
``conda env create --offline`` from the bundle installs the conda packages and then
exactly the locked wheels with conda's own pip step (no index, pip's --require-hashes),
from the environment file and from the lockfile alike; an altered wheel is refused.

The ``python`` conda package is made from the interpreter running the tests and ``pip``
holds its pip (tests/support/python_pkg.py), so conda's pip step runs for real; the
wheels are real PyPI wheels (../shared/testdata/pypi).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conda_vendor_plugin.formats import explicit_v1

from ..support.condarun import conda, no_traceback
from ..support.pypi import write_simple_index
from ..support.python_pkg import write_python_channel
from ..support.server import ChannelServer
from .conftest import HOST

TAG = f"cp{sys.version_info.major}{sys.version_info.minor}"
PIP = ["urllib3", "idna", *(["msgpack"] if TAG in ("cp310", "cp312") else [])]
CURRENT = "envs/demo/current"


@pytest.fixture
def bundle(tmp_path: Path, env: dict[str, str], shared_testdata: Path) -> Path:
    served = tmp_path / "served"
    write_simple_index(served / "pypi", sorted((shared_testdata / "pypi" / "wheels").iterdir()))
    write_python_channel(served / "conda")
    out = tmp_path / "OUT"
    with ChannelServer(served) as server:
        lines = ["name: demo", "channels:", f"  - {server.url}/conda", "dependencies:"]
        lines += [
            "  - python",
            "  - pip",
            "  - pip:",
            f"    - --index-url {server.url}/pypi/simple/",
        ]
        lines += [f"    - {p}" for p in PIP]
        (tmp_path / "demo.yml").write_text("\n".join(lines) + "\n")
        proc = conda(env, "vendor", tmp_path / "demo.yml", "--platform", HOST, "-o", out)
        assert proc.returncode == 0, proc.stderr
    shutil.rmtree(served)  # the channel and the index are gone from here on
    return out


def _locked(out: Path) -> dict[str, str]:
    return {
        w.name.lower(): w.version
        for w in explicit_v1.load(out / CURRENT / "environment.lock.yml").pypi[HOST]
    }


def _pip_list(prefix: Path) -> dict[str, str]:
    proc = subprocess.run(
        [
            prefix / "bin" / "python",
            "-m",
            "pip",
            "list",
            "--format=json",
            "--disable-pip-version-check",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return {
        d["name"].lower(): d["version"] for d in json.loads(proc.stdout) if d["name"].lower() in PIP
    }


@pytest.mark.parametrize("source", ["environment-{host}.yml", "environment.lock.yml"])
def test_conda_env_create_offline_installs_the_locked_wheels(
    tmp_path: Path, env: dict[str, str], bundle: Path, source: str
) -> None:
    prefix = tmp_path / "env"
    path = f"{CURRENT}/{source.format(host=HOST)}"
    proc = conda(env, "env", "create", "--offline", "-p", prefix, "-f", path, cwd=bundle)
    no_traceback(proc)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert _pip_list(prefix) == _locked(bundle)
    meta = {p.name.rsplit("-", 2)[0] for p in (prefix / "conda-meta").glob("*.json")}
    assert {"python", "pip"} <= meta
    assert not list(bundle.rglob("condaenv.*"))  # conda's temporary requirements file went


@pytest.mark.parametrize("source", ["environment-{host}.yml", "environment.lock.yml"])
def test_an_altered_wheel_is_refused_by_pip(
    tmp_path: Path, env: dict[str, str], bundle: Path, source: str
) -> None:
    wheel = next((bundle / "pypi" / "simple" / "idna").glob("*.whl"))
    data = bytearray(wheel.read_bytes())
    data[len(data) // 2] ^= 1
    wheel.write_bytes(bytes(data))
    prefix = tmp_path / "env"
    path = f"{CURRENT}/{source.format(host=HOST)}"
    proc = conda(env, "env", "create", "--offline", "-p", prefix, "-f", path, cwd=bundle)
    assert proc.returncode != 0
    assert "DO NOT MATCH THE HASHES" in proc.stdout + proc.stderr
    assert "idna" not in (_pip_list(prefix) if (prefix / "bin" / "python").exists() else {})


def test_conda_vendor_install_installs_the_wheels_too(
    tmp_path: Path, env: dict[str, str], bundle: Path
) -> None:
    prefix = tmp_path / "env"
    proc = conda(env, "vendor", "install", bundle, "--prefix", prefix)
    no_traceback(proc)
    assert proc.returncode == 0, proc.stderr
    assert _pip_list(prefix) == _locked(bundle)
    listed = conda(env, "list", "-p", prefix, "--json")
    names = {p["name"]: p.get("channel") for p in json.loads(listed.stdout)}
    assert all(names.get(p) == "pypi" for p in PIP), names  # conda sees them as pip's


def test_the_readmes_conda_command_installs_the_wheels(
    tmp_path: Path, env: dict[str, str], bundle: Path
) -> None:
    """The README's install-with-conda line, run as written from the bundle's root."""
    line = next(
        x.strip()
        for x in (bundle / "README.md").read_text().splitlines()
        if "conda env create" in x
    )
    argv = line.replace("<prefix>", str(tmp_path / "env")).split()
    assert argv[:2] == ["conda", "env"]
    proc = conda(env, *argv[1:], cwd=bundle)
    no_traceback(proc)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert _pip_list(tmp_path / "env") == _locked(bundle)


def _can_unshare() -> bool:
    if not shutil.which("unshare"):
        return False
    return subprocess.run(["unshare", "-rm", "true"], capture_output=True).returncode == 0


@pytest.mark.skipif(not _can_unshare(), reason="needs unshare -rm (a read-only bind mount)")
def test_the_lockfile_installs_its_wheels_from_a_read_only_bundle(
    tmp_path: Path, env: dict[str, str], bundle: Path
) -> None:
    """A bundle on read-only media (a bind mount made read-only, in a private mount
    namespace): conda cannot write its temporary requirements file beside the lockfile,
    so pip works elsewhere, and the lockfile's lines (absolute folders) still find the
    wheels."""
    ro, prefix = tmp_path / "ro", tmp_path / "env"
    ro.mkdir()
    lock = ro / CURRENT / "environment.lock.yml"
    command = [sys.executable, "-m", "conda", "env", "create", "--offline", "-p", prefix]
    script = "; ".join(
        [
            f"mount --bind {bundle} {ro}",
            f"mount -o remount,bind,ro {ro}",
            f"touch {ro}/probe 2>/dev/null && exit 98",  # the mount is not read-only
            " ".join(map(str, [*command, "-f", lock])),
        ]
    )
    environ = {**env, "NO_PROXY": "127.0.0.1,localhost"}
    proc = subprocess.run(
        ["unshare", "-rm", "sh", "-c", script], capture_output=True, text=True, env=environ
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert _pip_list(prefix) == _locked(bundle)
