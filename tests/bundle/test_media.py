"""A bundle survives the media an air gap is crossed on: copied so that its ``current``
links became directories (``shutil.copytree``, ``cp -rL``, zip, Windows Explorer) or
were dropped (a FAT stick: only ``current.txt`` is left), it verifies, and ``vendor
verify`` says which form it found. A copy that differs from its version is reported.

Real bundles vendored from a real loopback channel; the copies are made with the
standard library, as a user's tools make them.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ..support.build import Pkg, build_channel
from ..support.server import ChannelServer
from ..support.vendoring import snapshot, write_env

pytest.importorskip("rattler")


@pytest.fixture
def bundle(http_server: ChannelServer, tmp_path: Path, run) -> Path:
    build_channel(tmp_path / "served" / "chan", [Pkg("data"), Pkg("tool", depends=["data"])])
    url = f"{http_server.url}/chan"
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    one = write_env(tmp_path / "a" / "one.yml", [url], ["data"], name="one")
    two = write_env(tmp_path / "b" / "two.yml", [url], ["tool"], name="two")
    out = tmp_path / "OUT"
    rc, _, err = run("vendor", one, two, "-o", out, "--platform", "linux-64")
    assert rc == 0, err
    return out


def _verify(run, out: Path) -> tuple[int, dict]:
    rc, stdout, _ = run("vendor", "verify", out, "--json")
    return rc, json.loads(stdout)


def _without_links(bundle: Path, dest: Path) -> Path:
    """As a FAT stick keeps it: every file, no link."""
    shutil.copytree(bundle, dest, symlinks=True)
    for name in ("one", "two"):
        (dest / "envs" / name / "current").unlink()
    return dest


def test_each_form_of_the_pointers_verifies_and_is_named(bundle: Path, tmp_path: Path, run):
    rc, doc = _verify(run, bundle)
    assert rc == 0 and doc["problems"] == 0 and doc["current_pointers"] == "links", doc

    copied = tmp_path / "COPIED"
    shutil.copytree(bundle, copied)  # links followed: current/ is a directory
    assert not (copied / "envs" / "one" / "current").is_symlink()
    rc, doc = _verify(run, copied)
    assert rc == 0 and doc["problems"] == 0, doc
    assert doc["current_pointers"] == "directories"

    bare = _without_links(bundle, tmp_path / "FAT")
    rc, doc = _verify(run, bare)
    assert rc == 0 and doc["problems"] == 0 and doc["current_pointers"] == "pointer files", doc

    (bare / "envs" / "one" / "current").symlink_to("versions/" + _current(bare, "one"))
    rc, doc = _verify(run, bare)
    assert rc == 0 and doc["current_pointers"] == "mixed", doc

    rc, stdout, _ = run("vendor", "verify", copied)
    assert rc == 0
    assert stdout.strip().splitlines()[-1].endswith("0 problem(s); current pointers: directories")


def _current(out: Path, name: str) -> str:
    return json.loads((out / "bundle.json").read_text())["environments"][name]["current"]


def test_a_copy_that_is_not_its_version_is_reported(bundle: Path, tmp_path: Path, run):
    copied = tmp_path / "COPIED"
    shutil.copytree(bundle, copied)
    current = copied / "envs" / "one" / "current"
    version = f"envs/one/versions/{_current(copied, 'one')}"
    (current / "environment.lock.yml").write_text("# edited after the copy\n")
    (current / "linux-64.explicit.txt").unlink()
    (current / "stray.txt").write_text("x")
    rc, doc = _verify(run, copied)
    assert rc == 1
    assert sorted(doc["corrupt"]) == [
        f"envs/one/current/environment.lock.yml: differs from {version}/environment.lock.yml, "
        f"which envs/one/current copies",
        f"envs/one/current/linux-64.explicit.txt: missing from the copy of {version}",
        f"envs/one/current/stray.txt: not in {version}, which envs/one/current copies",
    ]
    assert doc["extra"] == [] and doc["problems"] == 3
    before = snapshot(copied)
    rc, _, err = run("vendor", "prune", copied, "--keep", "1")  # the user's files stay
    assert rc == 1 and "holds files it did not write" in err and "current/stray.txt" in err
    assert snapshot(copied) == before

    (current.parent / "current").rename(tmp_path / "gone")
    (copied / "envs" / "one" / "current").write_text("not a directory")
    rc, doc = _verify(run, copied)
    assert rc == 1
    assert (
        f"envs/one/current: neither a link nor a copy of versions/{_current(copied, 'one')}"
        in (doc["corrupt"])
    )


def test_a_bundle_copied_without_links_is_updated_in_place(
    bundle: Path, http_server: ChannelServer, tmp_path: Path, run
) -> None:
    """The offline side updates the bundle as it arrived: apply, prune and vendor into a
    bundle whose ``current`` links became directories (or were dropped) write the
    pointers anew, and the result verifies."""
    url = f"{http_server.url}/chan"
    (tmp_path / "c").mkdir()
    update = write_env(tmp_path / "c" / "one.yml", [url], ["tool"], name="one")
    delta = tmp_path / "DELTA"
    rc, _, err = run("vendor", update, "-o", delta, "--since", bundle, "--platform", "linux-64")
    assert rc == 0, err
    for form, copy in (("directories", shutil.copytree), ("pointer files", _without_links)):
        out = tmp_path / form.replace(" ", "-")
        copy(bundle, out)
        assert _verify(run, out)[1]["current_pointers"] == form
        rc, _, err = run("vendor", "apply", delta, "--to", out)
        assert rc == 0, (form, err)
        rc, doc = _verify(run, out)
        assert rc == 0 and doc["current_pointers"] == "links", (form, doc)
        assert (
            len(json.loads((out / "bundle.json").read_text())["environments"]["one"]["versions"])
            == 2
        )

        again = tmp_path / f"{form}-again".replace(" ", "-")
        copy(out, again)
        out = again
        rc, _, err = run("vendor", "prune", out, "--keep", "1")
        assert rc == 0, (form, err)
        rc, doc = _verify(run, out)
        assert rc == 0 and doc["current_pointers"] == "links", (form, doc)

        out = tmp_path / f"{form}-vendor".replace(" ", "-")
        copy(bundle, out)
        rc, _, err = run("vendor", update, "-o", out, "--platform", "linux-64")
        assert rc == 0, (form, err)
        rc, doc = _verify(run, out)
        assert rc == 0 and doc["current_pointers"] == "links", (form, doc)
