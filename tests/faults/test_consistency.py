"""What ``vendor`` accepts, ``vendor verify`` accepts, and the reverse; an archive with no
hash is refused unless the user opts in; messages say what is really wrong."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ..support.build import Pkg, build_channel
from ..support.bundles import current
from ..support.server import ChannelServer
from ..support.vendoring import load_json, write_env

pytest.importorskip("rattler")


def _edit_entry(chan: Path, subdir: str, fn: str, edit) -> None:
    path = chan / subdir / "repodata.json"
    doc = load_json(path)
    section = "packages.conda" if fn.endswith(".conda") else "packages"
    edit(doc, section, fn)
    path.write_text(json.dumps(doc, indent=1))


@pytest.fixture
def chan(http_server: ChannelServer, tmp_path: Path) -> Path:
    return build_channel(tmp_path / "served" / "ch", [Pkg("a", depends=["b"]), Pkg("b")])


@pytest.fixture
def env(chan: Path, http_server: ChannelServer, tmp_path: Path) -> Path:
    return write_env(tmp_path / "env.yml", [f"{http_server.url}/ch"], ["a"])


def _vendor(run, env: Path, out: Path, *extra: str) -> tuple[int, dict]:
    rc, stdout, stderr = run("vendor", env, "-o", out, "--platform", "linux-64", "--json", *extra)
    assert "Traceback" not in stderr
    return rc, json.loads(stdout)


def test_upper_case_hashes_vendor_and_verify_alike(chan: Path, env: Path, tmp_path: Path, run):
    def upper(doc, section, fn):
        entry = doc[section][fn]
        entry["sha256"], entry["md5"] = entry["sha256"].upper(), entry["md5"].upper()

    _edit_entry(chan, "noarch", "a-1.0-0.tar.bz2", upper)
    out = tmp_path / "OUT"
    rc, doc = _vendor(run, env, out)
    assert rc == 0, doc
    rc, stdout, _ = run("vendor", "verify", out, "--json")
    assert rc == 0, stdout
    local = load_json(out / "local_ch" / "noarch" / "repodata.json")
    assert local["packages"]["a-1.0-0.tar.bz2"]["sha256"].isupper()  # upstream's, as it was
    assert (
        "sha256: " + local["packages"]["a-1.0-0.tar.bz2"]["sha256"].lower()
        in (current(out) / "environment.lock.yml").read_text()
    )


def test_an_entry_with_a_size_and_no_hash_needs_the_users_consent(
    chan: Path, env: Path, tmp_path: Path, run
) -> None:
    def drop_hashes(doc, section, fn):
        del doc[section][fn]["sha256"], doc[section][fn]["md5"]

    _edit_entry(chan, "noarch", "b-1.0-0.tar.bz2", drop_hashes)
    out = tmp_path / "OUT"
    rc, doc = _vendor(run, env, out)
    assert rc == 1 and "--allow-size-only" in doc["error"] and "b-1.0-0" in doc["error"]
    assert not out.exists()
    rc, doc = _vendor(run, env, out, "--allow-size-only")
    assert rc == 0, doc
    manifest = {f["path"]: f for f in load_json(out / "manifest.json")["files"]}
    assert manifest["local_ch/noarch/b-1.0-0.tar.bz2"]["verified_by"] == "size"
    assert manifest["local_ch/noarch/a-1.0-0.tar.bz2"]["verified_by"] == "sha256"
    assert run("vendor", "verify", out)[0] == 0

    # The size is then the only check: an archive of another size is refused.
    (chan / "noarch" / "b-1.0-0.tar.bz2").write_bytes(b"not the archive")
    rc, doc = _vendor(run, env, tmp_path / "OUT2", "--allow-size-only")
    assert rc == 1 and "b-1.0-0" in doc["error"] and "size" in doc["error"]


def test_a_conda_archive_listed_under_packages_is_vendored_where_it_was(
    http_server: ChannelServer, tmp_path: Path, run
) -> None:
    chan = build_channel(tmp_path / "served" / "ch", [Pkg("c", fmt=".conda")])

    def misfile(doc, section, fn):
        doc["packages"][fn] = doc[section].pop(fn)

    _edit_entry(chan, "noarch", "c-1.0-0.conda", misfile)
    env = write_env(tmp_path / "env.yml", [f"{http_server.url}/ch"], ["c"])
    out = tmp_path / "OUT"
    rc, doc = _vendor(run, env, out)
    assert rc == 0, doc
    local = load_json(out / "local_ch" / "noarch" / "repodata.json")
    assert list(local["packages"]) == ["c-1.0-0.conda"] and local["packages.conda"] == {}
    assert run("vendor", "verify", out)[0] == 0


def test_an_entry_whose_subdir_is_not_its_directory_says_so(
    http_server: ChannelServer, tmp_path: Path, run
) -> None:
    chan = build_channel(tmp_path / "served" / "ch", [Pkg("d")], subdirs=("linux-64",))

    def other_subdir(doc, section, fn):
        doc[section][fn]["subdir"] = "linux-64"

    _edit_entry(chan, "noarch", "d-1.0-0.tar.bz2", other_subdir)
    env = write_env(tmp_path / "env.yml", [f"{http_server.url}/ch"], ["d"])
    rc, doc = _vendor(run, env, tmp_path / "OUT")
    assert rc == 1
    assert "inconsistent" in doc["error"] and "lock again" not in doc["error"]
    assert f"{http_server.url}/ch/noarch/repodata.json" in doc["error"]
