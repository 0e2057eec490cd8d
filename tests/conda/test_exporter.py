"""explicit-1.0 written by a real conda: ``conda export --format explicit-1.0``.

conda runs in subprocesses, isolated in tmp_path, against channels built at test time
(real archives, real hashes) and served from 127.0.0.1. Exports are read back with the
lockfile reader and compared with the lockfile they were installed from, with the
served repodata, and with what conda installs from them again.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from conda_vendor_plugin.formats import explicit_v1
from conda_vendor_plugin.spec import input_hash, load_spec

from ..support.build import Pkg, build_channel
from ..support.condarun import (
    NO_SOLVER,
    Served,
    app_channel,
    conda,
    conda_meta,
    installed,
)
from ..support.server import ChannelServer
from ..support.vendoring import write_env
from .conftest import HOST, OTHER

pytestmark = pytest.mark.conda


def _export(env: dict[str, str], *args: str | Path) -> str:
    proc = conda(env, "export", "--format", "explicit-1.0", *args)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _entries(lock) -> list[tuple]:
    return [
        (p.name, p.version, p.build, p.subdir, p.url, p.sha256, p.md5, p.size)
        for p in lock.packages[HOST]
    ]


def _upstream(path: Path) -> dict[str, dict]:
    found = {}
    for rd in path.glob("*/repodata.json"):
        doc = json.loads(rd.read_text())
        for section in ("packages", "packages.conda"):
            found.update({fn: e for fn, e in doc[section].items()})
    return found


# ------------------------------------------------------------------ round trips


def test_lock_install_export_gives_the_lock_back(
    served: Served, env: dict[str, str], tmp_path: Path
) -> None:
    env_file = write_env(tmp_path / "myenv.yml", [served.url], ["app"], name="myenv")
    assert conda(env, "env", "lock", "-f", env_file, "--platform", HOST).returncode == 0
    lock = explicit_v1.load(tmp_path / "myenv.lock.yml")
    assert (
        conda({**env, **NO_SOLVER}, "env", "create", "-f", tmp_path / "myenv.lock.yml").returncode
        == 0
    )

    text = _export(env, "-n", "myenv")
    exported = explicit_v1.read(text)
    assert _entries(exported) == _entries(lock)  # same packages, order, URLs and hashes
    assert exported.platforms == (HOST,)
    assert exported.channels == (served.url,)
    assert exported.name == "myenv"
    assert exported.input_hash != lock.input_hash  # it hashes exact pins, not the file

    # The input hash: that of the environment file pinning every exported package.
    pinned = write_env(
        tmp_path / "pinned.yml",
        [served.url],
        [f"{p.name}=={p.version}={p.build}" for p in exported.packages[HOST]],
    )
    pinned.write_text(pinned.read_text() + f"platforms:\n  - {HOST}\n")
    assert exported.input_hash == input_hash(load_spec(pinned))

    # environment.lock.yml, the name conda vendor writes, picks this format; same text.
    out = tmp_path / "environment.lock.yml"
    proc = conda(env, "export", "-n", "myenv", "-f", out)
    assert proc.returncode == 0, proc.stderr
    assert out.read_text() == text
    # Another *.lock.yml is not claimed (another exporter may use that pattern).
    proc = conda(env, "export", "-n", "myenv", "-f", tmp_path / "my-project.lock.yml")
    assert proc.returncode != 0 and not (tmp_path / "my-project.lock.yml").exists()

    # And the export installs the same packages again, without a solve.
    proc = conda({**env, **NO_SOLVER}, "env", "create", "-f", out, "-p", tmp_path / "again")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert installed(env, tmp_path / "again") == {
        (p.name, p.version, p.build) for p in lock.packages[HOST]
    }


def test_a_solved_environment_exports_its_repodata_hashes_in_install_order(
    served: Served, env: dict[str, str], tmp_path: Path
) -> None:
    prefix = tmp_path / "E"
    assert conda(env, "create", "-p", prefix, "-c", served.url, "app").returncode == 0
    lock = explicit_v1.read(_export(env, "-p", prefix))
    assert lock.name is None  # an environment known by its path only: no name recorded
    upstream = _upstream(served.path)
    assert [p.name for p in lock.packages[HOST]] == ["lib", "app"]  # dependencies first
    for p in lock.packages[HOST]:
        entry = upstream[p.fn]
        assert p.url == f"{served.url}/{p.subdir}/{p.fn}"
        assert (p.sha256, p.md5, p.size) == (entry["sha256"], entry["md5"], entry["size"])


def test_hashes_missing_from_conda_meta_come_from_the_package_cache(
    served: Served, env: dict[str, str], tmp_path: Path
) -> None:
    prefix = tmp_path / "E"
    assert conda(env, "create", "-p", prefix, "-c", served.url, "app").returncode == 0
    expected = _entries(explicit_v1.read(_export(env, "-p", prefix)))
    record = prefix / "conda-meta" / "lib-1.0-0.json"
    doc = json.loads(record.read_text())
    for key in ("sha256", "md5", "size"):
        doc.pop(key)
    record.write_text(json.dumps(doc))
    assert _entries(explicit_v1.read(_export(env, "-p", prefix))) == expected

    # Without the cache's record of them, from the cached archive's bytes.
    pkgs = Path(env["CONDA_PKGS_DIRS"])
    cached = pkgs / "lib-1.0-0" / "info" / "repodata_record.json"
    doc = json.loads(cached.read_text())
    for key in ("sha256", "md5", "size"):
        doc.pop(key, None)
    cached.write_text(json.dumps(doc))
    assert _entries(explicit_v1.read(_export(env, "-p", prefix))) == expected

    # Nowhere to be found: one line naming the package, nothing written.
    shutil.rmtree(pkgs)
    out = tmp_path / "x.lock.yml"
    proc = conda(env, "export", "--format", "explicit-1.0", "-p", prefix, "-f", out)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert "lib-1.0-0 has no sha256 or md5 or size in conda-meta nor in a package cache" in (
        proc.stderr
    )
    assert not out.exists()


def test_packages_are_exported_in_install_order_not_conda_meta_order(
    env: dict[str, str], tmp_path: Path
) -> None:
    # p1 needs p2 ... p5: install order is the reverse of the names' order.
    chain = [Pkg(f"p{i}", depends=[f"p{i + 1}"] if i < 5 else []) for i in range(1, 6)]
    build_channel(tmp_path / "served" / "chain", chain)
    prefix = tmp_path / "E"
    with ChannelServer(tmp_path / "served") as server:
        proc = conda(env, "create", "-p", prefix, "-c", f"{server.url}/chain", "p1")
        assert proc.returncode == 0, proc.stderr
    lock = explicit_v1.read(_export(env, "-p", prefix))
    assert [p.name for p in lock.packages[HOST]] == ["p5", "p4", "p3", "p2", "p1"]


def test_a_cache_entry_that_disagrees_with_conda_meta_is_not_used(
    served: Served, env: dict[str, str], tmp_path: Path
) -> None:
    prefix = tmp_path / "E"
    assert conda(env, "create", "-p", prefix, "-c", served.url, "app").returncode == 0
    record = prefix / "conda-meta" / "lib-1.0-0.json"
    doc = json.loads(record.read_text())
    del doc["sha256"], doc["size"]  # md5 stays: it names the archive that was installed
    record.write_text(json.dumps(doc))
    cached = Path(env["CONDA_PKGS_DIRS"]) / "lib-1.0-0" / "info" / "repodata_record.json"
    doc = json.loads(cached.read_text())
    doc.update(md5="0" * 32, sha256="1" * 64)  # the cache holds another lib-1.0-0
    cached.write_text(json.dumps(doc))
    proc = conda(env, "export", "--format", "explicit-1.0", "-p", prefix)
    assert proc.returncode == 1
    assert "lib-1.0-0 has no sha256 or size in conda-meta nor in a package cache" in proc.stderr
    assert "1" * 64 not in proc.stdout


# ------------------------------------------------------------------ what is refused, warned


@pytest.mark.parametrize("platforms", [(HOST, OTHER), (OTHER,)], ids=["both", "other"])
def test_platforms_other_than_the_prefixs_are_refused(
    served: Served, env: dict[str, str], tmp_path: Path, platforms: tuple[str, ...]
) -> None:
    prefix = tmp_path / "E"
    assert conda(env, "create", "-p", prefix, "-c", served.url, "data").returncode == 0
    out = tmp_path / "x.lock.yml"
    args = [a for p in platforms for a in ("--platform", p)]
    proc = conda(env, "export", "-p", prefix, "-f", out, "--format", "explicit-1.0", *args)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert not out.exists()
    if len(platforms) > 1:  # a single-platform exporter: conda refuses, nothing solved
        assert "Multiple platforms are not supported for the `explicit-1.0`" in proc.stderr
        return
    # one other platform: conda solves it first, the exporter refuses that solve
    assert f"exports the packages installed in {prefix} ({HOST}) only; for {OTHER}" in proc.stderr
    assert f"conda env lock -f <environment file> --platform {OTHER}" in proc.stderr


def test_export_help_does_not_offer_several_platforms(env: dict[str, str]) -> None:
    proc = conda(env, "export", "--help")
    assert proc.returncode == 0, proc.stderr
    assert "explicit-1.0" in proc.stdout  # listed as a format...
    assert "--file *.lock.yml" not in proc.stdout  # ...not as a multi-platform one


def test_a_prefix_exported_as_another_platform_is_refused(
    served: Served, env: dict[str, str], tmp_path: Path
) -> None:
    prefix = tmp_path / "E"
    assert conda(env, "create", "-p", prefix, "-c", served.url, "app").returncode == 0
    proc = conda({**env, "CONDA_SUBDIR": OTHER}, "export", "--format", "explicit-1.0", "-p", prefix)
    assert proc.returncode == 1
    assert f"{prefix} holds {HOST} packages, not {OTHER} ones" in proc.stderr


def test_pip_installed_packages_are_warned_about_and_left_out(
    env: dict[str, str], tmp_path: Path
) -> None:
    if sys.platform == "win32":
        pytest.skip("site-packages layout of the fake python is POSIX")
    chan = build_channel(
        tmp_path / "served" / "chan",
        [Pkg("python", version="3.12.0", subdir=HOST), Pkg("data")],
    )
    nopip = {**env, "CONDA_ADD_PIP_AS_PYTHON_DEPENDENCY": "false"}
    prefix = tmp_path / "E"
    with ChannelServer(chan.parent) as server:
        url = f"{server.url}/chan"
        assert conda(nopip, "create", "-p", prefix, "-c", url, "python", "data").returncode == 0
    dist_info = prefix / "lib" / "python3.12" / "site-packages" / "piponly-1.0.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: piponly\nVersion: 1.0\n")
    (dist_info / "INSTALLER").write_text("pip\n")
    (dist_info / "RECORD").write_text("piponly-1.0.dist-info/METADATA,,\n")

    proc = conda(nopip, "export", "--format", "explicit-1.0", "-p", prefix)
    assert proc.returncode == 0, proc.stderr
    assert "explicit-1.0: 1 pip-installed package(s) are not in the lockfile" in proc.stderr
    assert "piponly==1.0" in proc.stderr
    lock = explicit_v1.read(proc.stdout)
    assert {p.name for p in lock.packages[HOST]} == {"python", "data"}

    quiet = conda(nopip, "export", "--format", "explicit-1.0", "-p", prefix, "--quiet")
    assert "explicit-1.0: 1 pip-installed" not in quiet.stderr


def test_credentials_never_reach_the_export(env: dict[str, str], tmp_path: Path) -> None:
    app_channel(tmp_path / "served" / "chan", HOST, OTHER)
    prefix = tmp_path / "E"
    with ChannelServer(tmp_path / "served", token="s3cr3t-t0ken") as server:
        url = f"{server.url}/chan"  # http://127.0.0.1:PORT/t/s3cr3t-t0ken/chan
        proc = conda(env, "create", "-p", prefix, "-c", url, "app")
        assert proc.returncode == 0, proc.stderr
    # Whatever conda keeps, a record carrying the token in its URL must not leak it.
    record = next((prefix / "conda-meta").glob("app-*.json"))
    doc = json.loads(record.read_text())
    doc["url"] = doc["url"].replace("/chan/", "/t/s3cr3t-t0ken/chan/")
    record.write_text(json.dumps(doc))
    proc = conda(env, "export", "--format", "explicit-1.0", "-p", prefix)
    assert proc.returncode == 0, proc.stderr
    assert "s3cr3t-t0ken" not in proc.stdout + proc.stderr
    lock = explicit_v1.read(proc.stdout)
    assert all("/t/" not in p.url for p in lock.packages[HOST])
    assert all("/t/" not in c for c in lock.channels)
    assert {p.name for p in lock.packages[HOST]} == {"app", "lib"}
    assert conda_meta(prefix)["app"]["url"]  # installed for real
