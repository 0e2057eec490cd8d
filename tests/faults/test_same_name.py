"""A channel that re-serves an archive under a file name the bundle already locks, with
other bytes: ``vendor`` into that bundle and ``vendor apply`` refuse in one line naming
the archive, both sha256 and the environment versions locking the old bytes, and the
bundle stays byte for byte as it was.

conda installs from a local channel without checking any hash, so a bundle whose file
changed bytes under a locked name would install code no lockfile names. Real archives,
a real loopback channel server whose archive is rebuilt between the runs.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from ..support.build import Pkg, build_channel
from ..support.server import ChannelServer
from ..support.vendoring import write_env

pytest.importorskip("rattler")

DATA = "local_chan/noarch/data-2024.1-0.tar.bz2"


def _pkgs(data_payload: int) -> list[Pkg]:
    return [
        Pkg("app", "1.0", depends=["data"]),
        Pkg("app", "2.0", depends=["data"]),
        Pkg("data", "2024.1", payload_size=data_payload),
        Pkg("tool", "0.1", depends=["data"]),
    ]


def tree_hash(root: Path) -> str:
    """One sha256 of every path, link target and file's bytes below ``root``."""
    h = hashlib.sha256()
    for dirpath, dirnames, filenames in sorted(os.walk(root, followlinks=False)):
        dirnames.sort()
        for name in sorted(filenames + dirnames):
            path = Path(dirpath) / name
            h.update(path.relative_to(root).as_posix().encode() + b"\0")
            if path.is_symlink():
                h.update(b"-> " + os.readlink(path).encode())
            elif path.is_file():
                h.update(path.read_bytes())
            h.update(b"\0")
    return h.hexdigest()


def _locked_sha256(out: Path) -> str:
    doc = json.loads((out / "manifest.json").read_text())
    return next(f["sha256"] for f in doc["files"] if f["path"] == DATA)


@pytest.fixture
def base(http_server: ChannelServer, tmp_path: Path, run) -> tuple[Path, str]:
    """A bundle whose two environments lock data-2024.1 (served with 64 bytes of payload),
    then the channel re-serves data-2024.1 with other bytes under the same name."""
    served = tmp_path / "served" / "chan"
    build_channel(served, _pkgs(64))
    url = f"{http_server.url}/chan"
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    analysis = write_env(tmp_path / "a" / "analysis.yml", [url], ["app 1.0.*"], name="analysis")
    tools = write_env(tmp_path / "b" / "tools.yml", [url], ["tool"], name="tools")
    out = tmp_path / "BASE"
    rc, _, err = run("vendor", analysis, tools, "-o", out, "--platform", "linux-64")
    assert rc == 0, err
    build_channel(served, _pkgs(65))  # same file names; data-2024.1 has other bytes now
    return out, url


def _check_refusal(err: str, out: Path, old: str, new: str) -> None:
    assert "\n" not in err.strip(), err
    assert DATA in err and old in err and new in err and old != new
    assert "analysis@1-" in err and "tools@1-" in err  # every version locking the old bytes
    assert f"{out} is unchanged" in err


def test_vendor_refuses_other_bytes_under_a_name_the_bundle_locks(
    base: tuple[Path, str], tmp_path: Path, run
) -> None:
    out, url = base
    old = _locked_sha256(out)
    new = hashlib.sha256(
        (tmp_path / "served" / "chan" / "noarch" / DATA.split("/")[-1]).read_bytes()
    )
    before = tree_hash(out)
    (tmp_path / "c").mkdir()
    update = write_env(tmp_path / "c" / "analysis.yml", [url], ["app 2.0.*"], name="analysis")

    rc, _, err = run("vendor", update, "-o", out, "--platform", "linux-64", "--dry-run")
    assert rc == 1 and "the channel now has sha256" in err, err  # a dry run says so too
    rc, _, err = run("vendor", update, "-o", out, "--platform", "linux-64")
    assert rc == 1, err
    (line,) = [x for x in err.splitlines() if x.startswith("error: ")]  # after the progress
    _check_refusal(line, out, old, new.hexdigest())
    assert "the channel now has" in line
    assert tree_hash(out) == before
    assert not (tmp_path / ".BASE.staging").exists()  # refused before anything was fetched

    rc, stdout, _ = run("vendor", "verify", out, "--json")
    assert rc == 0 and json.loads(stdout)["problems"] == 0


def test_apply_refuses_a_delta_carrying_other_bytes_under_a_locked_name(
    base: tuple[Path, str], tmp_path: Path, run
) -> None:
    out, url = base
    old = _locked_sha256(out)
    (tmp_path / "c").mkdir()
    update = write_env(tmp_path / "c" / "analysis.yml", [url], ["app 2.0.*"], name="analysis")
    delta = tmp_path / "DELTA"
    rc, _, err = run("vendor", update, "-o", delta, "--since", out, "--platform", "linux-64")
    assert rc == 0, err  # the delta carries the new data-2024.1: its sha256 differs
    new = _locked_sha256(delta)
    before = tree_hash(out)

    rc, stdout, _ = run("vendor", "apply", delta, "--to", out, "--json")
    assert rc == 1
    doc = json.loads(stdout)
    assert doc["error_type"] == "BundleError"
    _check_refusal(doc["error"], out, old, new)
    assert "the delta now has" in doc["error"]
    assert tree_hash(out) == before


def _lock_with_wheel(tmp_path: Path, run, srv: ChannelServer, name: str, data: bytes) -> Path:
    """A lockfile of ``tool`` plus one wheel ``w-1.0-py3-none-any.whl`` holding ``data``
    (served from a folder of its own, as another index would)."""
    from dataclasses import replace

    from conda_vendor_plugin.formats import explicit_v1
    from conda_vendor_plugin.pypi.records import Wheel

    folder = srv.root / f"index-{name}"
    folder.mkdir()
    (folder / "w-1.0-py3-none-any.whl").write_bytes(data)
    env = write_env(tmp_path / f"{name}.yml", [f"{srv.url}/chan"], ["tool"], name=name)
    assert run("lock", "-f", env, "--platform", "linux-64")[0] == 0
    lock = explicit_v1.load(tmp_path / f"{name}.lock.yml")
    url = f"{srv.url}/index-{name}/w-1.0-py3-none-any.whl"
    wheel = Wheel("w", "1.0", url, hashlib.sha256(data).hexdigest(), len(data))
    out = tmp_path / f"{name}-with-wheel.lock.yml"
    out.write_text(explicit_v1.write(replace(lock, pypi={"linux-64": (wheel,)})))
    return out


def test_a_wheel_under_a_locked_name_with_other_bytes_is_refused_before_fetching(
    http_server: ChannelServer, tmp_path: Path, run
) -> None:
    build_channel(http_server.root / "chan", _pkgs(64))
    first = _lock_with_wheel(tmp_path, run, http_server, "first", b"first wheel bytes")
    out = tmp_path / "OUT"
    rc, _, err = run("vendor", "--lockfile", first, "-o", out)
    assert rc == 0, err
    before = tree_hash(out)
    second = _lock_with_wheel(tmp_path, run, http_server, "second", b"other wheel bytes")
    gets = len(http_server.requests)

    rc, _, err = run("vendor", "--lockfile", second, "-o", out)

    assert rc == 1
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, err
    old, new = (hashlib.sha256(b).hexdigest() for b in (b"first wheel bytes", b"other wheel bytes"))
    assert lines[0] == (
        f"error: pypi/simple/w/w-1.0-py3-none-any.whl: the index now has sha256 {new} under "
        f"this name, but the bundle's first lock sha256 {old}; refusing to replace those "
        f"bytes ({out} is unchanged). Drop those versions first (vendor prune --drop / "
        "--keep), or vendor into a new output"
    )
    assert not [p for m, p, _, _ in http_server.requests[gets:] if p.endswith(".whl")]
    assert tree_hash(out) == before
