"""Hostile tars handed to ``vendor unpack``, ``vendor verify`` and ``vendor install``.

Each tar is real, written with ``tarfile`` the way a hostile packer would: a valid
manifest first, then one member that must not be extracted. ``unpack`` must refuse it
in one line naming the member, leave no DIR and nothing beside it, and write nothing
outside; ``verify`` must report it (exit 1); ``install`` must refuse it with no PREFIX.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

OK = b"fine\n"


def _file(name: str, data: bytes) -> tuple[tarfile.TarInfo, io.BytesIO]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, io.BytesIO(data)


def _special(name: str, kind: bytes, link: str = "") -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, link
    return info, None


def _manifest(files: dict[str, bytes], links: dict[str, str]) -> bytes:
    items = [
        {"path": p, "size": len(d), "sha256": hashlib.sha256(d).hexdigest()}
        for p, d in files.items()
    ]
    items += [{"path": p, "link": t} for p, t in links.items()]
    doc = {"tool": {"name": "conda-vendor-plugin", "version": "0"}, "files": items}
    return json.dumps(doc).encode()


def _tar(path: Path, members: list[tuple[tarfile.TarInfo, io.BytesIO | None]]) -> Path:
    with tarfile.open(path, "w", format=tarfile.GNU_FORMAT) as tf:
        for info, data in members:
            tf.addfile(info, data)
    return path


def _listed(*extra: tuple[tarfile.TarInfo, io.BytesIO | None], links: dict | None = None):
    """The manifest (listing ``ok.txt`` and ``links``), ``ok.txt``, then ``extra``."""
    manifest = _manifest({"ok.txt": OK}, links or {})
    return [_file("manifest.json", manifest), _file("ok.txt", OK), *extra]


VERSION = "envs/e/versions/1"
POINTER = "envs/e/current"


def _versioned(*extra: tuple[tarfile.TarInfo, io.BytesIO | None]):
    """A manifest listing a version of two files and its ``current`` link, the version's
    files, then ``extra`` (where the link or a copy of the version would come)."""
    files = {f"{VERSION}/a.txt": OK, f"{VERSION}/b.txt": b"other\n"}
    manifest = _manifest(files, {POINTER: "versions/1"})
    return [_file("manifest.json", manifest), *(_file(p, d) for p, d in files.items()), *extra]


HOSTILE: dict[str, tuple[Callable[[], list], str]] = {
    "dot-dot": (lambda: _listed(_file("../escaped.txt", b"x")), "'../escaped.txt'"),
    "absolute": (lambda: _listed(_file("/tmp/escaped-abs.txt", b"x")), "is absolute"),
    "link-out": (
        lambda: _listed(_special("out", tarfile.SYMTYPE, "../../.."), links={"out": "../../.."}),
        "out: a link that points at '../../..'",
    ),
    "link-absolute": (
        lambda: _listed(_special("etc", tarfile.SYMTYPE, "/etc"), links={"etc": "/etc"}),
        "etc: a link that points at '/etc'",
    ),
    "through-link": (
        lambda: _listed(
            _special("sub", tarfile.SYMTYPE, "inner"),
            _file("sub/x.txt", b"x"),
            links={"sub": "inner"},
        ),
        "sub/x.txt: under the link sub",
    ),
    "hard-link": (
        lambda: _listed(_special("hard", tarfile.LNKTYPE, "/etc/passwd")),
        "hard: a hard link to '/etc/passwd'",
    ),
    "device": (
        lambda: _listed(_special("dev", tarfile.CHRTYPE)),
        "dev: a device, FIFO or other special file",
    ),
    "fifo": (
        lambda: _listed(_special("pipe", tarfile.FIFOTYPE)),
        "pipe: a device, FIFO or other special file",
    ),
    "duplicate": (
        lambda: _listed(_file("ok.txt", b"other bytes\n")),
        "ok.txt: appears twice in the tar",
    ),
    "unlisted": (lambda: _listed(_file("extra.sh", b"rm -rf ~\n")), "extra.sh (not in the"),
    "copy-then-link": (
        lambda: _versioned(
            _file(f"{POINTER}/a.txt", OK),
            _file(f"{POINTER}/b.txt", b"other\n"),
            _special(POINTER, tarfile.SYMTYPE, "versions/1"),
        ),
        f"{POINTER}: a link where a copy of its version came before",
    ),
    "copy-altered": (
        lambda: _versioned(
            _file(f"{POINTER}/a.txt", b"evil\n"), _file(f"{POINTER}/b.txt", b"other\n")
        ),
        f"{POINTER}/a.txt: sha256 ",
    ),
    "copy-incomplete": (
        lambda: _versioned(_file(f"{POINTER}/a.txt", OK)),
        f"{POINTER}/b.txt: missing from the copy of {VERSION}",
    ),
    "altered": (
        lambda: [_file("manifest.json", _manifest({"ok.txt": OK}, {})), _file("ok.txt", b"evil\n")],
        "ok.txt: sha256 ",
    ),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_unpack_refuses_and_leaves_nothing(case: str, tmp_path: Path, run) -> None:
    members, expected = HOSTILE[case]
    work = tmp_path / "w"
    work.mkdir()
    tar = _tar(work / "evil.tar", members())
    dest = work / "out" / "bundle"

    rc, _, err = run("vendor", "unpack", tar, "-o", dest)

    assert rc == 1
    (line,) = err.splitlines()
    assert line.startswith(f"error: {tar}: ") and expected in line, line
    assert line.endswith("; nothing was unpacked")
    assert sorted(p.name for p in (work / "out").iterdir()) == []  # no DIR, no leftovers
    assert sorted(p.name for p in work.iterdir()) == ["evil.tar", "out"]
    assert not (tmp_path / "escaped.txt").exists()
    assert not Path("/tmp/escaped-abs.txt").exists()


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_verify_reports_it(case: str, tmp_path: Path, run) -> None:
    members, expected = HOSTILE[case]
    tar = _tar(tmp_path / "evil.tar", members())

    rc, out, _ = run("vendor", "verify", tar, "--json")

    assert rc == 1
    doc = json.loads(out)
    found = doc["unsafe"] + doc["corrupt"] + doc["extra"]
    assert any(expected in f for f in found), found


def test_a_clean_hand_made_tar_unpacks(tmp_path: Path, run) -> None:
    """The control: the same construction without a hostile member is accepted."""
    tar = _tar(tmp_path / "ok.tar", _listed())
    rc, out, err = run("vendor", "unpack", tar, "-o", tmp_path / "d")
    assert rc == 0, out + err
    assert (tmp_path / "d" / "ok.txt").read_bytes() == OK


def test_a_tar_not_starting_with_its_manifest_is_refused(tmp_path: Path, run) -> None:
    tar = _tar(tmp_path / "x.tar", [_file("ok.txt", OK), _file("manifest.json", b"{}")])
    rc, _, err = run("vendor", "unpack", tar, "-o", tmp_path / "d")
    assert rc == 1
    assert err.strip() == (
        f"error: {tar}: not a tar written by vendor pack (it does not start with manifest.json)"
    )
    assert not (tmp_path / "d").exists()


def test_a_tar_that_is_not_a_tar_is_one_line(tmp_path: Path, run) -> None:
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"\x00garbage" * 1000)
    rc, _, err = run("vendor", "unpack", junk, "-o", tmp_path / "d")
    assert rc == 1 and len(err.splitlines()) == 1 and str(junk) in err
    assert not (tmp_path / "d").exists()
    rc, _, err = run("vendor", "verify", junk)
    assert rc == 1 and len(err.splitlines()) == 1


def test_install_refuses_a_hostile_tar_and_creates_no_prefix(tmp_path: Path, run) -> None:
    pytest.importorskip("rattler")
    members, _ = HOSTILE["link-out"]
    tar = _tar(tmp_path / "evil.tar", members())
    prefix = tmp_path / "envs" / "p"
    rc, _, err = run("vendor", "install", tar, "--prefix", prefix)
    assert rc == 1 and "out: a link that points at" in err
    assert not (tmp_path / "envs").exists()
