"""explicit-1.0 read by a real conda: ``conda env create -f`` and ``conda create --file``.

Which files conda gives this reader is tested in ``test_conda_detection.py``.

conda runs in subprocesses (``python -m conda``), isolated in tmp_path, against channels
built at test time (real archives, real hashes) and served from 127.0.0.1. Lockfiles
are written by ``conda env lock``. A solver that does not exist (``CONDA_SOLVER``)
proves an install ran none; a locked set that violates a package's own ``depends``
proves it again (no solver would pick it).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conda_vendor_plugin.formats import explicit_v1

from ..support.build import Pkg, archive_bytes, build_channel
from ..support.bundles import current, typed
from ..support.condarun import (
    NO_SOLVER,
    conda,
    conda_meta,
    installed,
    lock_env,
    no_traceback,
)
from ..support.server import ChannelServer
from ..support.vendoring import snapshot, write_env
from .conftest import HOST, OTHER

pytestmark = pytest.mark.conda


def _lock(env: dict[str, str], tmp_path: Path, channel: str, deps, platform: str = HOST) -> Path:
    return lock_env(env, tmp_path, channel, deps, platform)


def _locked_set(lockfile: Path, platform: str = HOST) -> set[tuple[str, str, str]]:
    return {(p.name, p.version, p.build) for p in explicit_v1.load(lockfile).packages[platform]}


# ------------------------------------------------------------------ installing a lock


@pytest.mark.parametrize(
    "command", [("env", "create", "-f"), ("create", "--file")], ids=["env-create", "create"]
)
def test_a_lock_installs_exactly_its_records_without_solving(
    served, env: dict[str, str], tmp_path: Path, command: tuple[str, ...]
) -> None:
    url = served.url
    lockfile = _lock(env, tmp_path, url, ["app"])
    lock = explicit_v1.load(lockfile)
    prefix = tmp_path / "E"

    # The control: with a solver that does not exist, anything that solves fails.
    control = conda({**env, **NO_SOLVER}, "create", "-p", tmp_path / "C", "-c", url, "app")
    assert control.returncode != 0 and "not recognized" in control.stderr

    proc = conda({**env, **NO_SOLVER}, *command, lockfile, "-p", prefix)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Solving environment" not in proc.stdout + proc.stderr
    assert (
        installed(env, prefix)
        == _locked_set(lockfile)
        == {
            ("app", "1.0", "0"),
            ("lib", "1.0", "0"),
        }
    )
    meta = conda_meta(prefix)
    for p in lock.packages[HOST]:
        record = meta[p.name]
        assert record["url"] == p.url
        assert (record["sha256"], record["md5"], record["size"]) == (p.sha256, p.md5, p.size)
    # Records are read back from the archives: the lock has no depends, conda-meta does.
    assert meta["app"]["depends"] == ["lib <2"]


def test_a_set_no_solver_would_choose_is_installed_as_locked(
    served, env: dict[str, str], tmp_path: Path
) -> None:
    url = served.url
    lockfile = _lock(env, tmp_path, url, ["app"])
    lib2 = json.loads((served.path / HOST / "repodata.json").read_text())["packages"][
        "lib-2.0-0.tar.bz2"
    ]
    text = lockfile.read_text()
    lib1 = re.search(r"  - name: lib\n(    .*\n)+?(?=  - |\Z)", text).group(0)
    text = text.replace(
        lib1,
        "  - name: lib\n"
        '    version: "2.0"\n'
        '    build: "0"\n'
        f"    subdir: {HOST}\n"
        f"    resolved: {url}/{HOST}/lib-2.0-0.tar.bz2\n"
        f"    sha256: {lib2['sha256']}\n"
        f"    md5: {lib2['md5']}\n"
        f"    size: {lib2['size']}\n",
    )
    lockfile.write_text(text)
    prefix = tmp_path / "E"
    proc = conda(env, "create", "--file", lockfile, "-p", prefix)  # the configured solver
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # app depends on 'lib <2': no solve would give lib 2.0, the lock does.
    assert installed(env, prefix) == {("app", "1.0", "0"), ("lib", "2.0", "0")}


def test_the_lock_name_names_the_environment(served, env: dict[str, str], tmp_path: Path) -> None:
    url = served.url
    lockfile = _lock(env, tmp_path, url, ["data"])
    proc = conda({**env, **NO_SOLVER}, "env", "create", "-f", lockfile)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert installed(env, Path(env["CONDA_ENVS_DIRS"]) / "myenv") == {("data", "1.0", "0")}


def _tamper(archive: Path) -> None:
    """Replace lib-1.0-0's archive by a valid one with other contents and the same size:
    only a hash check tells them apart."""
    original = archive.read_bytes()
    for i in range(1000):
        data = archive_bytes(Pkg("lib", version="1.0", subdir=HOST, depends=[f"tampered{i}"]))
        if len(data) == len(original):
            archive.write_bytes(data)
            return
    pytest.fail("no archive of the same size found")


def test_a_tampered_archive_fails_the_fetch_and_installs_nothing(
    served, env: dict[str, str], tmp_path: Path
) -> None:
    lockfile = _lock(env, tmp_path, served.url, ["app"])
    _tamper(served.path / HOST / "lib-1.0-0.tar.bz2")
    prefix = tmp_path / "E"
    proc = conda(env, "env", "create", "-f", lockfile, "-p", prefix)
    assert proc.returncode != 0
    assert re.search(r"(?i)checksum|sha256|hash", proc.stderr), proc.stderr
    no_traceback(proc)
    assert not (prefix / "conda-meta").exists()


def test_dry_run_lists_the_locked_packages_and_fetches_nothing(
    served, env: dict[str, str], tmp_path: Path
) -> None:
    url = served.url
    lockfile = _lock(env, tmp_path, url, ["app"])
    proc = conda(env, "env", "create", "--dry-run", "-f", lockfile)  # no -n: the lock names it
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 locked packages" in proc.stdout
    assert "lib-1.0-0" in proc.stdout and "app-1.0-0" in proc.stdout
    assert not any(p.endswith((".conda", ".tar.bz2")) for _, p, _, _ in served.server.requests)
    assert not (Path(env["CONDA_ENVS_DIRS"]) / "myenv").exists()


def test_download_only_fills_the_package_cache_and_installs_nothing(
    served, env: dict[str, str], tmp_path: Path
) -> None:
    lockfile = _lock(env, tmp_path, served.url, ["app"])
    prefix = tmp_path / "E"
    proc = conda(env, "create", "--download-only", "--file", lockfile, "-p", prefix)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    pkgs = Path(env["CONDA_PKGS_DIRS"])
    assert (pkgs / "app-1.0-0.conda").is_file() and (pkgs / "lib-1.0-0.tar.bz2").is_file()
    assert not (prefix / "conda-meta").exists()


# ------------------------------------------------------------------ errors


def test_a_lock_without_this_platform_fails_naming_its_platforms(
    served, env: dict[str, str], tmp_path: Path
) -> None:
    url = served.url
    lockfile = _lock(env, tmp_path, url, ["data"], platform=OTHER)
    for command in (("env", "create", "-f"), ("create", "--file")):
        prefix = tmp_path / "E"
        proc = conda(env, *command, lockfile, "-p", prefix)
        assert proc.returncode != 0
        no_traceback(proc)
        # conda checks the platforms a reader declares before asking for an environment.
        assert f"does not include packages for {HOST}" in proc.stderr
        assert f"Available platforms: {OTHER}\n" in proc.stderr
        assert not prefix.exists()


def test_the_readers_own_platform_error_is_one_line(served, env, tmp_path: Path) -> None:
    from conda.exceptions import CondaValueError

    from conda_vendor_plugin.conda_specifier import ExplicitV1Spec

    url = served.url
    lockfile = _lock(env, tmp_path, url, ["data"], platform=OTHER)
    spec = ExplicitV1Spec(str(lockfile))
    assert spec.available_platforms == (OTHER,)
    with pytest.raises(CondaValueError) as e:
        spec.env_for(HOST)
    assert "\n" not in str(e.value)
    assert f"no packages for {HOST}; it locks {OTHER}" in str(e.value)


def test_an_entry_that_is_not_its_archive_is_refused(
    served, env: dict[str, str], tmp_path: Path
) -> None:
    lockfile = _lock(env, tmp_path, served.url, ["app"])
    lockfile.write_text(lockfile.read_text().replace('version: "1.0"', 'version: "1.1"', 1))
    proc = conda(env, "env", "create", "-f", lockfile, "-p", tmp_path / "E")
    assert proc.returncode != 0
    no_traceback(proc)
    # The reader refuses it before anything is fetched: the name is not its entry's.
    assert "archive 'lib-1.0-0.tar.bz2' does not match its entry" in proc.stderr


def test_a_package_of_another_platform_is_refused(served, env, tmp_path: Path) -> None:
    from conda.exceptions import CondaValueError

    from conda_vendor_plugin.conda_specifier import ExplicitV1Spec

    lockfile = _lock(env, tmp_path, served.url, ["data"], platform=OTHER)
    lockfile.write_text(lockfile.read_text().replace("subdir: noarch", f"subdir: {HOST}"))
    with pytest.raises(CondaValueError, match=f"is for {HOST}, but is listed for {OTHER}"):
        ExplicitV1Spec(str(lockfile)).env_for(OTHER)


def test_a_broken_lock_is_one_line_naming_the_place(served, env, tmp_path: Path) -> None:
    url = served.url
    lockfile = _lock(env, tmp_path, url, ["data"])
    lockfile.write_text(lockfile.read_text().replace("sha256: ", "sha256: 00", 1))
    proc = conda(env, "env", "create", "-f", lockfile, "-p", tmp_path / "E")
    assert proc.returncode != 0
    no_traceback(proc)
    assert f"explicit-packages.{HOST}[0]: package " in proc.stderr
    assert "sha256 must be 64 lowercase hex digits" in proc.stderr


# ------------------------------------------------------------------ a lock inside a bundle


def test_a_lock_inside_a_bundle_installs_offline_from_the_bundle(
    served, env: dict[str, str], tmp_path: Path
) -> None:
    url = served.url
    env_file = write_env(tmp_path / "env.yml", [url], ["app"])
    out = tmp_path / "OUT"
    proc = conda(env, "vendor", env_file, "-o", out, "--platform", HOST)
    assert proc.returncode == 0, proc.stderr
    served.server.__exit__()  # the channels are gone
    lockfile = current(out) / "environment.lock.yml"
    locked = explicit_v1.load(lockfile)
    assert all(p.url.startswith(url) for p in locked.packages[HOST])  # upstream URLs

    fresh = {**env, "CONDA_PKGS_DIRS": str(tmp_path / "fresh-pkgs")}  # nothing cached
    before = snapshot(out)
    prefix = tmp_path / "E"
    proc = conda({**fresh, **NO_SOLVER}, "env", "create", "--offline", "-f", lockfile, "-p", prefix)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert installed(env, prefix) == _locked_set(lockfile)
    meta = conda_meta(prefix)
    for p in locked.packages[HOST]:
        record = meta[p.name]
        assert record["url"] == f"{out.as_uri()}/local_chan/{p.subdir}/{p.fn}"
        assert record["sha256"] == p.sha256
    assert meta["app"]["license"] == "hotfixed"  # the local repodata's entry, not the archive's
    assert snapshot(out) == before  # installing writes nothing into OUT


def test_a_tampered_archive_in_the_bundle_is_refused_before_conda_copies_it(
    served, env: dict[str, str], tmp_path: Path
) -> None:
    """conda copies a file:// archive into its cache without checking its hash: the
    bundle lookup checks it first."""
    env_file = write_env(tmp_path / "env.yml", [served.url], ["app"])
    out = tmp_path / "OUT"
    assert conda(env, "vendor", env_file, "-o", out, "--platform", HOST).returncode == 0
    _tamper(out / "local_chan" / HOST / "lib-1.0-0.tar.bz2")
    fresh = {**env, "CONDA_PKGS_DIRS": str(tmp_path / "fresh-pkgs")}
    prefix = tmp_path / "E"
    proc = conda(
        fresh,
        "env",
        "create",
        "--offline",
        "-f",
        current(out) / "environment.lock.yml",
        "-p",
        prefix,
    )
    assert proc.returncode != 0
    no_traceback(proc)
    assert f"cannot install lib-1.0-0 ({HOST}) from this bundle" in proc.stderr
    assert f"conda vendor verify {out}" in proc.stderr
    assert not (prefix / "conda-meta").exists()


def test_a_bundle_install_records_python_as_conda_reads_a_channel(
    env: dict[str, str], tmp_path: Path
) -> None:
    """conda adds pip to python's depends when it reads a channel (add_pip_as_python_
    dependency); a bundle's records are channel entries, so they get it too, as a
    'conda env create -f environment-<platform>.yml' from the same bundle would."""
    build_channel(
        tmp_path / "served" / "chan",
        [Pkg("python", version="3.12.0", subdir=HOST), Pkg("pip", depends=["python"])],
    )
    out = tmp_path / "OUT"
    with ChannelServer(tmp_path / "served") as server:
        env_file = write_env(tmp_path / "env.yml", [f"{server.url}/chan"], ["python"])
        assert conda(env, "vendor", env_file, "-o", out, "--platform", HOST).returncode == 0
    by_lock, by_env_file = tmp_path / "by-lock", tmp_path / "by-env-file"
    proc = conda(
        env,
        "env",
        "create",
        "--offline",
        "-f",
        current(out) / "environment.lock.yml",
        "-p",
        by_lock,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = conda(
        env,
        "env",
        "create",
        "--offline",
        "-f",
        typed(out, f"environment-{HOST}.yml"),
        "-p",
        by_env_file,
        cwd=out,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert conda_meta(by_lock)["python"]["depends"] == ["pip"]
    fields = ("name", "version", "build", "depends", "url", "sha256", "md5", "size", "license")
    for name, record in conda_meta(by_lock).items():
        other = conda_meta(by_env_file)[name]
        assert {k: record.get(k) for k in fields} == {k: other.get(k) for k in fields}


def test_env_update_from_a_lockfile_refuses_in_one_line(
    served, env: dict[str, str], tmp_path: Path
) -> None:
    """``conda env update`` installs only requested specs; a lockfile has none, so it
    would exit 0 having installed nothing: it refuses instead, naming what to run."""
    env_file = write_env(tmp_path / "env.yml", [served.url], ["app"])
    assert conda(env, "env", "lock", "-f", env_file, "--platform", HOST).returncode == 0
    lock = tmp_path / "env.lock.yml"
    prefix = tmp_path / "E"
    assert conda(env, "create", "-y", "-p", prefix, "-c", served.url, "data").returncode == 0
    before = installed(env, prefix)
    proc = conda(env, "env", "update", "-f", lock, "-p", prefix)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if "conda env update" in line]
    assert len(lines) == 1 and "installs only the specs a file requests" in lines[0]
    assert f"conda env create --yes -f {lock} -n NAME" in lines[0]
    assert installed(env, prefix) == before
