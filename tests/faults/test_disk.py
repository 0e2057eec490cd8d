"""Disk full: refused up front when the bundle cannot fit, one line when the disk fills
during the run, and a later run is not blocked by what an earlier one left.

Each run happens in a private mount namespace (``unshare -rm``) where OUT's parent is a
real, small tmpfs, so the filesystem is really full; the channel is served by a real
loopback server outside the namespace. Skipped where namespaces are not allowed.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ..support.build import Pkg, build_channel
from ..support.server import ChannelServer
from ..support.vendoring import snapshot, write_env

pytest.importorskip("rattler")

MIB = 1 << 20


def _can_unshare() -> bool:
    if not shutil.which("unshare"):
        return False
    probe = subprocess.run(["unshare", "-rm", "true"], capture_output=True)
    return probe.returncode == 0


pytestmark = pytest.mark.skipif(not _can_unshare(), reason="needs unshare -rm (namespaces)")


def _vendor_argv(mnt: Path, env: Path) -> list[str]:
    return ["vendor", str(env), "-o", str(mnt / "OUT"), "--platform", "linux-64", "--json"]


def _vendor_on_small_disk(mnt: Path, size_mib: int, env: Path) -> subprocess.CompletedProcess[str]:
    """``vendor ENV -o MNT/OUT`` with MNT a ``size_mib`` tmpfs in a private namespace."""
    return _on_small_disk(mnt, size_mib, _vendor_argv(mnt, env))


def _on_small_disk(
    mnt: Path, size_mib: int, argv: list[str], before: str = ""
) -> subprocess.CompletedProcess[str]:
    return _finish(_start_on_small_disk(mnt, size_mib, argv, before))


def _start_on_small_disk(
    mnt: Path, size_mib: int, argv: list[str], before: str = ""
) -> subprocess.Popen[str]:
    """Start ``python -m conda_vendor_plugin ARGV`` with MNT a ``size_mib`` tmpfs in a
    private namespace, after the shell commands ``before``.

    The tmpfs vanishes with the namespace: its content is copied to ``MNT-after`` at the
    end, and copied back in at the start of the next call (so staging survives)."""
    mnt.mkdir(exist_ok=True)
    m, keep = shlex.quote(str(mnt)), shlex.quote(str(mnt.with_name(mnt.name + "-after")))
    command = [sys.executable, "-m", "conda_vendor_plugin", *argv]
    script = "\n".join(
        [
            f"mount -t tmpfs -o size={size_mib}m tmpfs {m} || exit 99",
            f"if [ -d {keep} ]; then cp -a {keep}/. {m}/; fi",
            before,
            f"{shlex.join(command)}; rc=$?",
            "wait",  # for whatever ``before`` started
            f"rm -rf {keep}; cp -a {m} {keep}",
            "exit $rc",
        ]
    )
    environ = {**os.environ, "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"}
    return subprocess.Popen(
        ["unshare", "-rm", "sh", "-c", script],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environ,
    )


def _finish(proc: subprocess.Popen[str]) -> subprocess.CompletedProcess[str]:
    stdout, stderr = proc.communicate(timeout=300)
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)


def _archive_gets(server: ChannelServer) -> list[str]:
    return [p for m, p, _, _ in server.requests if m == "GET" and p.endswith(".tar.bz2")]


def test_a_bundle_that_cannot_fit_is_refused_before_downloading(tmp_path: Path) -> None:
    pkgs = [Pkg(f"p{i}", payload_size=MIB) for i in range(6)]  # ~6 MiB of archives
    build_channel(tmp_path / "served" / "chan", pkgs)
    with ChannelServer(tmp_path / "served") as srv:
        env = write_env(tmp_path / "env.yml", [f"{srv.url}/chan"], [p.name for p in pkgs])
        proc = _vendor_on_small_disk(tmp_path / "mnt", 4, env)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["error_type"] == "DiskFull"
    assert "MiB more" in doc["error"] and "free" in doc["error"]
    assert str(tmp_path / "mnt") in doc["error"]  # the filesystem, named
    assert _archive_gets(srv) == []


def test_a_disk_that_fills_during_the_run_is_one_line_and_a_smaller_run_fits(
    tmp_path: Path,
) -> None:
    big = [Pkg(f"big{i}", payload_size=MIB) for i in range(5)]
    build_channel(tmp_path / "served" / "chan", [*big, Pkg("small", payload_size=10_000)])
    mnt = tmp_path / "mnt"
    go, filled = tmp_path / "fill-now", tmp_path / "filled"
    with ChannelServer(tmp_path / "served") as srv:
        for p in big:  # held: the filler takes the room while the downloads wait
            srv.fail(f"/chan/noarch/{p.fn}", "hold")
        env = write_env(tmp_path / "env.yml", [f"{srv.url}/chan"], [p.name for p in big])
        # 8 MiB: the 5 MiB bundle fits when it starts; once the first archive is asked for
        # (the room was checked), a filler takes 5 MiB, then the downloads go on.
        m, q = shlex.quote(str(mnt)), shlex.quote
        fill = (
            f"(while [ ! -e {q(str(go))} ]; do sleep 0.02; done; "
            f"dd if=/dev/zero of={m}/filler bs=1M count=5; touch {q(str(filled))}) &"
        )
        proc = _start_on_small_disk(mnt, 8, _vendor_argv(mnt, env), before=fill)
        while not srv.holding:
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.02)
        go.touch()
        while not filled.exists():
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.02)
        srv.release()
        proc = _finish(proc)
        assert proc.returncode == 1, proc.stdout + proc.stderr
        assert "Traceback" not in proc.stderr
        doc = json.loads(proc.stdout)
        assert doc["error_type"] == "DiskFull", doc
        assert "no space left" in doc["error"] and ".OUT.staging" in doc["error"]
        assert "run again to resume" in doc["error"]
        staged = tmp_path / "mnt-after" / ".OUT.staging"
        assert any(staged.rglob("*.partial"))  # kept for resuming

        # A smaller environment on a 2 MiB disk, with the big one's partial downloads
        # still in staging: they go first, the small bundle fits.
        (tmp_path / "mnt-after" / "filler").unlink()
        small = write_env(tmp_path / "small.yml", [f"{srv.url}/chan"], ["small"])
        proc = _vendor_on_small_disk(mnt, 2, small)
        assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("command", ["apply", "prune"])
def test_apply_and_prune_on_a_full_disk_say_so_in_one_line(
    command: str, tmp_path: Path, run
) -> None:
    """Every command that changes a bundle turns a full disk into the same clear line:
    ``apply`` copying a delta's 3 MiB archive from another filesystem onto a 2 MiB one,
    ``prune`` on a filesystem a filler file took."""
    pkgs = [Pkg("app", "1.0"), Pkg("app", "2.0", payload_size=3 * MIB), Pkg("tool")]
    build_channel(tmp_path / "served" / "chan", pkgs)
    mnt = tmp_path / "mnt"
    with ChannelServer(tmp_path / "served") as srv:
        url = f"{srv.url}/chan"
        for d in ("a", "b", "c"):
            (tmp_path / d).mkdir()
        base = tmp_path / "mnt-after" / "OUT"  # copied onto the tmpfs by _on_small_disk
        app1 = write_env(tmp_path / "a" / "env.yml", [url], ["app 1.0.*"], name="env")
        tool = write_env(tmp_path / "b" / "tool.yml", [url], ["tool"], name="tool")
        rc, _, err = run("vendor", app1, tool, "-o", base, "--platform", "linux-64")
        assert rc == 0, err
        app2 = write_env(tmp_path / "c" / "env.yml", [url], ["app 2.0.*"], name="env")
        rc, _, err = run("vendor", app2, "-o", tmp_path / "DELTA", "--since", base)
        assert rc == 0, err
    before = snapshot(base)
    if command == "apply":
        argv = ["vendor", "apply", str(tmp_path / "DELTA"), "--to", str(mnt / "OUT"), "--json"]
        proc = _on_small_disk(mnt, 2, argv)
    else:
        fill = f"dd if=/dev/zero of={shlex.quote(str(mnt))}/filler bs=64k 2>/dev/null"
        argv = ["vendor", "prune", str(mnt / "OUT"), "--drop", "tool", "--json"]
        proc = _on_small_disk(mnt, 2, argv, before=fill)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["error_type"] == "DiskFull", doc
    assert f"no space left on the filesystem at {mnt}" in doc["error"]
    assert ".OUT.staging" in doc["error"] and "Free some space and run again" in doc["error"]
    assert snapshot(base) == before  # the bundle, copied back from the tmpfs, unchanged


def test_wheels_count_in_the_room_a_bundle_needs(tmp_path: Path) -> None:
    """A lock whose wheels (with their sizes) cannot fit is refused before any download,
    as archives are: the wheels' bytes count in the free-space check."""
    import hashlib
    from dataclasses import replace

    from conda_vendor_plugin import cli
    from conda_vendor_plugin.formats import explicit_v1
    from conda_vendor_plugin.pypi.records import Wheel

    build_channel(tmp_path / "served" / "chan", [Pkg("small")])
    files = tmp_path / "served" / "files"
    files.mkdir()
    wheels = []
    for n in range(2):
        data = os.urandom(3 * MIB)
        fn = f"big{n}-1.0-py3-none-any.whl"
        (files / fn).write_bytes(data)
        wheels.append((fn, hashlib.sha256(data).hexdigest(), len(data)))
    with ChannelServer(tmp_path / "served") as srv:
        env = write_env(tmp_path / "env.yml", [f"{srv.url}/chan"], ["small"])
        assert cli.main(["lock", "-f", str(env), "--platform", "linux-64"]) == 0
        lock = explicit_v1.load(tmp_path / "env.lock.yml")
        locked = tuple(
            Wheel(fn.split("-")[0], "1.0", f"{srv.url}/files/{fn}", sha, size)
            for fn, sha, size in wheels
        )
        lockfile = tmp_path / "big.lock.yml"
        lockfile.write_text(explicit_v1.write(replace(lock, pypi={"linux-64": locked})))
        argv = ["vendor", "--lockfile", str(lockfile), "-o", str(tmp_path / "mnt" / "OUT")]
        proc = _on_small_disk(tmp_path / "mnt", 4, [*argv, "--json"])
    assert proc.returncode == 1, proc.stdout + proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["error_type"] == "DiskFull" and "MiB more" in doc["error"], doc
    assert [p for m, p, _, _ in srv.requests if m == "GET" and p.endswith(".whl")] == []
