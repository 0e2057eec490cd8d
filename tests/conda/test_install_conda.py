"""``conda vendor install`` and ``conda vendor pack``/``unpack`` inside a real conda:
the same py-rattler installer and hash check as standalone, and conda itself reads the
prefix it made (``conda list``: exactly the locked packages, with the locked channel)."""

from __future__ import annotations

from pathlib import Path

from conda_vendor_plugin.formats.registry import read_path

from ..support.bundles import current
from ..support.condarun import conda, installed, no_traceback
from ..support.vendoring import write_env
from .conftest import HOST


def test_conda_vendor_install_gives_what_conda_list_shows(
    env: dict[str, str], served, tmp_path: Path
) -> None:
    env_file = write_env(tmp_path / "myenv.yml", [served.url], ["app"], name="myenv")
    out = tmp_path / "OUT"
    proc = conda(env, "vendor", env_file, "--platform", HOST, "-o", out)
    assert proc.returncode == 0, proc.stderr
    served.server.__exit__(None, None, None)  # the channel is gone from here on
    tar = tmp_path / "b.tar"
    proc = conda(env, "vendor", "pack", out, "-o", tar)
    assert proc.returncode == 0, proc.stderr

    prefix = tmp_path / "p"
    proc = conda(env, "vendor", "install", tar, "myenv", "--prefix", prefix)

    no_traceback(proc)
    assert proc.returncode == 0, proc.stderr
    lock = read_path(current(out) / "environment.lock.yml")
    locked = {(p.name, p.version, p.build) for p in lock.packages[HOST]}
    assert installed(env, prefix) == locked
    listed = conda(env, "list", "-p", prefix, "--show-channel-urls")
    assert listed.returncode == 0 and served.url in listed.stdout

    # A tampered archive: one line naming it, no prefix.
    archive = next((out / "local_chan" / "noarch").glob("app-*.conda"))
    data = bytearray(archive.read_bytes())
    data[-10] ^= 1
    archive.write_bytes(bytes(data))
    proc = conda(env, "vendor", "install", out, "myenv", "--prefix", tmp_path / "q")
    no_traceback(proc)
    assert proc.returncode == 1
    assert f"local_chan/noarch/{archive.name}: sha256 " in proc.stderr
    assert not (tmp_path / "q").exists()
