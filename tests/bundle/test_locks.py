"""A bundle's version lockfiles inside one bundle transaction: bytes parsed once are not
parsed again, but every read reads the file, so a lockfile changed on disk (or a copy that
differs) is what the caller gets, under its own path."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conda_vendor_plugin.bundle.locks import parsed_once, read_version_lock
from conda_vendor_plugin.errors import LockfileError
from conda_vendor_plugin.formats import explicit_v1

from ..support.locks import make_lock, pkg

REL = "envs/demo/versions/1-abc"


def _write(root: Path, rel: str, lock=None) -> Path:
    path = root / rel / "environment.lock.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(explicit_v1.write(lock or make_lock()))
    return path


def _names(lock) -> list[str]:
    return [p.name for p in lock.packages["linux-64"]]


def test_a_lockfile_changed_on_disk_is_read_anew(tmp_path: Path) -> None:
    path = _write(tmp_path, REL)
    with parsed_once():
        assert _names(read_version_lock(tmp_path, REL)) == ["zlib", "python", "tzdata"]
        tampered = make_lock(packages={"linux-64": (pkg("evil", "6.6.6"),)})
        path.write_text(explicit_v1.write(tampered))
        assert _names(read_version_lock(tmp_path, REL)) == ["evil"]
        path.write_text("explicit-packages: [\n")
        with pytest.raises(LockfileError, match="invalid YAML"):
            read_version_lock(tmp_path, REL)


def test_the_same_bytes_elsewhere_are_parsed_once_and_named_by_their_own_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _write(tmp_path / "bundle", REL)
    copy = tmp_path / "staging" / REL / "environment.lock.yml"
    copy.parent.mkdir(parents=True)
    shutil.copyfile(first, copy)
    parses = []
    real = explicit_v1.read
    monkeypatch.setattr(explicit_v1, "read", lambda *a, **k: parses.append(1) or real(*a, **k))

    with parsed_once():
        a = read_version_lock(tmp_path / "bundle", REL)
        with parsed_once():  # an inner scope (a check inside the transaction) shares it
            b = read_version_lock(tmp_path / "staging", REL)
        assert read_version_lock(tmp_path / "staging", REL) == b
        assert len(parses) == 1
        assert (a.path, b.path) == (first, copy)
        assert a == b
        with pytest.raises(TypeError):
            b.packages["linux-64"] = ()  # type: ignore[index]  # shared: read-only
    read_version_lock(tmp_path / "bundle", REL)  # outside: nothing kept
    assert len(parses) == 2


def test_a_missing_version_lockfile_says_the_bundle_is_incomplete(tmp_path: Path) -> None:
    with pytest.raises(LockfileError, match="no such lockfile; the bundle is incomplete"):
        read_version_lock(tmp_path, REL)


def test_vendor_into_a_bundle_parses_each_version_s_lockfile_once(
    run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Checked before the fetch, merged in staging, verified before the swap: one parse
    each for the bundle's version and the new one (it was five)."""
    from ..support.build import Pkg, build_channel
    from ..support.vendoring import write_env

    pytest.importorskip("rattler")
    pkgs = [Pkg("lib", "1.0"), Pkg("lib", "2.0"), Pkg("tool", "0.1")]
    channel = build_channel(tmp_path / "chan", pkgs, subdirs=("linux-64",)).as_uri()
    out = tmp_path / "OUT"
    parses: list[str] = []
    real = explicit_v1.read
    monkeypatch.setattr(
        explicit_v1, "read", lambda *a, **k: parses.append(k["source"]) or real(*a, **k)
    )
    for deps in (["lib 1.0", "tool"], ["lib 2.0", "tool"]):
        env = write_env(tmp_path / "env.yml", [channel], deps, name="demo")
        parses.clear()
        rc, stdout, err = run("vendor", env, "--platform", "linux-64", "-o", out, "--json")
        assert rc == 0, stdout + err
    assert len(list(out.glob("envs/demo/versions/*"))) == 2
    assert len(parses) == 2, parses
