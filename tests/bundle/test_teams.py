"""Bundles for teams: several environments in one bundle, versions with a ``current``
pointer, ``vendor prune``, delta bundles and ``vendor apply``.

Real archives in a channel built at test time, served by a real loopback server; every
command is the real one (``python -m conda_vendor_plugin`` in-process).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from ..support.build import Pkg, build_channel
from ..support.bundles import current
from ..support.server import ChannelServer
from ..support.vendoring import (
    archives,
    check_manifest,
    move_archives_elsewhere,
    snapshot,
    write_env,
)

pytest.importorskip("rattler")

PKGS = [
    Pkg("app", "1.0", depends=["lib >=1,<2", "data"]),
    Pkg("app", "2.0", depends=["lib >=2", "data"]),
    Pkg("lib", "1.5", subdir="linux-64"),
    Pkg("lib", "2.1", subdir="linux-64"),
    Pkg("data", "2024.1"),
    Pkg("tool", "0.1", depends=["data"], fmt=".conda"),
]


@pytest.fixture
def url(http_server: ChannelServer, tmp_path: Path) -> str:
    build_channel(tmp_path / "served" / "chan", PKGS, subdirs=("linux-64",))
    return f"{http_server.url}/chan"


def _env(tmp_path: Path, url: str, name: str, deps: list[str]) -> Path:
    return write_env(tmp_path / f"{name}.yml", [url], deps, name=name)


def _vendor(run, *args: object) -> dict:
    rc, stdout, err = run("vendor", *args, "--platform", "linux-64", "--json")
    assert rc == 0, stdout + err
    return json.loads(stdout)


def _index(out: Path) -> dict:
    return json.loads((out / "bundle.json").read_text())


def _verify(run, out: Path) -> dict:
    rc, stdout, _ = run("vendor", "verify", out, "--json")
    doc = json.loads(stdout)
    assert rc == 0 and doc["problems"] == 0, doc
    return doc


def _locked_files(out: Path, name: str) -> set[str]:
    text = (current(out, name) / "linux-64.explicit.txt").read_text()
    return {line[2:].split("#")[0] for line in text.splitlines() if line.startswith("./")}


def test_two_environments_share_one_set_of_channels(url: str, tmp_path: Path, run) -> None:
    out = tmp_path / "OUT"
    a = _env(tmp_path, url, "analysis", ["app 1.0.*"])
    b = _env(tmp_path, url, "tools", ["tool"])
    doc = _vendor(run, a, b, "-o", out)

    assert sorted(doc["environments"]) == ["analysis", "tools"]
    index = _index(out)
    assert sorted(index["environments"]) == ["analysis", "tools"]
    # data is in both environments and stored once.
    got = archives(out)
    assert [p for p in got if "data-2024.1" in p] == ["local_chan/noarch/data-2024.1-0.tar.bz2"]
    assert _locked_files(out, "analysis") & _locked_files(out, "tools") == {
        "local_chan/noarch/data-2024.1-0.tar.bz2"
    }
    assert set(got) == _locked_files(out, "analysis") | _locked_files(out, "tools")
    manifest = check_manifest(out)
    listed = [f["path"] for f in manifest["files"] if "purl" in f]
    assert sorted(listed) == sorted(got)  # each archive once
    for name in ("analysis", "tools"):
        version = index["environments"][name]["current"]
        assert (out / "envs" / name / "current.txt").read_text() == f"versions/{version}\n"
        assert os.readlink(out / "envs" / name / "current") == f"versions/{version}"
    assert _verify(run, out)["environment_versions"] == 2
    # The SBOM (validated by check_manifest) names the environments using each archive.
    sbom = json.loads((out / "sbom.cdx.json").read_text())
    users = {
        next(p["value"] for p in c["properties"] if p["name"] == "conda-vendor:path"): sorted(
            p["value"] for p in c["properties"] if p["name"] == "conda-vendor:environment"
        )
        for c in sbom["components"]
    }
    assert sorted(users) == sorted(got)
    assert users["local_chan/noarch/data-2024.1-0.tar.bz2"] == ["analysis", "tools"]
    assert users["local_chan/noarch/tool-0.1-0.conda"] == ["tools"]


def test_an_update_keeps_the_earlier_version_and_the_other_environment(
    url: str, tmp_path: Path, run
) -> None:
    out = tmp_path / "OUT"
    a = _env(tmp_path, url, "analysis", ["app 1.0.*"])
    b = _env(tmp_path, url, "tools", ["tool"])
    _vendor(run, a, b, "-o", out)
    v1 = _index(out)["environments"]["analysis"]["current"]
    tools_before = {k: v for k, v in snapshot(out).items() if k.startswith("envs/tools/")}
    old_files = _locked_files(out, "analysis")

    _vendor(run, _env(tmp_path, url, "analysis", ["app 2.0.*"]), "-o", out)  # analysis only

    env = _index(out)["environments"]["analysis"]
    assert env["current"].startswith("2-") and [v["id"] for v in env["versions"]] == [
        v1,
        env["current"],
    ]
    assert os.readlink(out / "envs" / "analysis" / "current") == f"versions/{env['current']}"
    assert "app-2.0-0" in (current(out, "analysis") / "environment.lock.yml").read_text()
    kept = out / "envs" / "analysis" / "versions" / v1
    assert "app-1.0-0" in (kept / "environment.lock.yml").read_text()
    # The earlier version still installs: every archive it locks is still there.
    assert all((out / rel).is_file() for rel in old_files)
    now = {k: v for k, v in snapshot(out).items() if k.startswith("envs/tools/")}
    assert now == tools_before
    _verify(run, out)

    # The same inputs again replace the current version; no third one.
    _vendor(run, _env(tmp_path, url, "analysis", ["app 2.0.*"]), "-o", out)
    assert [v["id"] for v in _index(out)["environments"]["analysis"]["versions"]] == [
        v1,
        env["current"],
    ]


def test_prune_drops_older_versions_and_only_their_archives(url: str, tmp_path: Path, run) -> None:
    out = tmp_path / "OUT"
    _vendor(run, _env(tmp_path, url, "analysis", ["app 1.0.*"]), "-o", out)
    _vendor(run, _env(tmp_path, url, "analysis", ["app 2.0.*"]), "-o", out)
    only_old = _locked_files_of_version(out, "analysis", 0) - _locked_files(out, "analysis")
    assert only_old == {
        "local_chan/linux-64/lib-1.5-0.tar.bz2",
        "local_chan/noarch/app-1.0-0.tar.bz2",
    }
    sizes = sum((out / rel).stat().st_size for rel in only_old)

    rc, stdout, err = run("vendor", "prune", out, "--keep", "1", "--json")
    assert rc == 0, err
    doc = json.loads(stdout)
    assert len(doc["dropped_versions"]) == 1
    assert doc["freed_bytes"] >= sizes
    assert not any((out / rel).exists() for rel in only_old)
    assert all((out / rel).is_file() for rel in _locked_files(out, "analysis"))
    rd = json.loads((out / "local_chan" / "noarch" / "repodata.json").read_text())
    assert "app-1.0-0.tar.bz2" not in rd["packages"] and "app-2.0-0.tar.bz2" in rd["packages"]
    assert len(_index(out)["environments"]["analysis"]["versions"]) == 1
    _verify(run, out)
    check_manifest(out)


def _locked_files_of_version(out: Path, name: str, i: int) -> set[str]:
    vid = _index(out)["environments"][name]["versions"][i]["id"]
    text = (out / "envs" / name / "versions" / vid / "linux-64.explicit.txt").read_text()
    return {line[2:].split("#")[0] for line in text.splitlines() if line.startswith("./")}


@pytest.fixture
def base(url: str, tmp_path: Path, run) -> Path:
    """A bundle of two environments, as carried across the gap last time."""
    out = tmp_path / "BASE"
    a = _env(tmp_path, url, "analysis", ["app 1.0.*"])
    b = _env(tmp_path, url, "tools", ["tool"])
    _vendor(run, a, b, "-o", out)
    return out


def test_a_delta_applied_equals_a_full_vendor(
    base: Path, url: str, tmp_path: Path, run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Byte for byte, SBOM included: its time is SOURCE_DATE_EPOCH here (else the full
    vendor's SBOM says when it ran, and the applied one when the delta was made)."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    (tmp_path / "new").mkdir()
    updated = _env(tmp_path / "new", url, "analysis", ["app 2.0.*"])
    full = tmp_path / "FULL"
    shutil.copytree(base, full, symlinks=True)
    _vendor(run, updated, "-o", full)

    online_has = tmp_path / "manifest.json"  # all the online side kept of BASE
    shutil.copy(base / "manifest.json", online_has)
    delta = tmp_path / "DELTA"
    doc = _vendor(run, updated, "-o", delta, "--since", online_has)
    new_archives = set(archives(full)) - set(archives(base))
    assert new_archives == {
        "local_chan/noarch/app-2.0-0.tar.bz2",
        "local_chan/linux-64/lib-2.1-0.tar.bz2",
    }
    assert set(archives(delta)) == new_archives  # no archive BASE has
    assert doc["omitted"] == 1  # data, which BASE has
    _verify(run, delta)

    offline = tmp_path / "OFFLINE"
    shutil.copytree(base, offline, symlinks=True)
    rc, stdout, err = run("vendor", "apply", delta, "--to", offline, "--json")
    assert rc == 0, stdout + err
    assert json.loads(stdout)["archives_added"] == 2
    assert (offline / "manifest.json").read_bytes() == (full / "manifest.json").read_bytes()
    assert snapshot(offline) == snapshot(full)
    _verify(run, offline)
    assert len(_index(offline)["environments"]["analysis"]["versions"]) == 2


def _delta(base: Path, url: str, tmp_path: Path, run) -> Path:
    """A delta against ``base`` updating analysis to app 2.0."""
    (tmp_path / "new").mkdir()
    updated = _env(tmp_path / "new", url, "analysis", ["app 2.0.*"])
    _vendor(run, updated, "-o", tmp_path / "DELTA", "--since", base)
    return tmp_path / "DELTA"


def test_a_delta_for_another_bundle_is_refused_and_changes_nothing(
    base: Path, url: str, tmp_path: Path, run
) -> None:
    delta = _delta(base, url, tmp_path, run)
    other = tmp_path / "OTHER"  # a bundle without data-2024.1, which the delta left out
    (tmp_path / "o").mkdir()
    _vendor(run, _env(tmp_path / "o", url, "solo", ["lib 1.5.*"]), "-o", other)
    before = snapshot(other)

    rc, _, err = run("vendor", "apply", delta, "--to", other)
    assert rc == 1
    assert "does not fit" in err and "data-2024.1-0.tar.bz2" in err
    assert len(err.strip().splitlines()) == 1
    assert snapshot(other) == before


def test_a_tampered_delta_is_refused_and_changes_nothing(
    base: Path, url: str, tmp_path: Path, run
) -> None:
    delta = _delta(base, url, tmp_path, run)
    archive = delta / "local_chan" / "noarch" / "app-2.0-0.tar.bz2"
    data = bytearray(archive.read_bytes())
    data[50] ^= 1
    archive.write_bytes(bytes(data))
    before = snapshot(base)

    rc, stdout, _ = run("vendor", "apply", delta, "--to", base, "--json")
    assert rc == 1
    doc = json.loads(stdout)
    assert "does not verify" in doc["error"] and "app-2.0-0.tar.bz2" in doc["error"]
    assert snapshot(base) == before


def test_namespaces_are_folders_and_bad_names_are_usage_errors(
    url: str, tmp_path: Path, run
) -> None:
    out = tmp_path / "OUT"
    doc = _vendor(run, _env(tmp_path, url, "analysis", ["tool"]), "-o", out, "--namespace", "team")
    assert list(doc["environments"]) == ["team/analysis"]
    assert (out / "envs" / "team" / "analysis" / "current.txt").is_file()
    _verify(run, out)
    for bad in ("..", "a/b", ".hidden"):
        rc, _, err = run("vendor", tmp_path / "analysis.yml", "-o", out, "--namespace", bad)
        assert rc == 2, err
        assert "environment name" in err


def test_verify_checks_every_kept_version_against_the_channels(
    url: str, tmp_path: Path, run
) -> None:
    out = tmp_path / "OUT"
    _vendor(run, _env(tmp_path, url, "analysis", ["app 1.0.*"]), "-o", out)
    _vendor(run, _env(tmp_path, url, "analysis", ["app 2.0.*"]), "-o", out)
    # Drop an archive only the earlier version needs, and its repodata entry, as a
    # careless hand-prune would: the channels alone still look consistent.
    (out / "local_chan" / "linux-64" / "lib-1.5-0.tar.bz2").unlink()
    rd_path = out / "local_chan" / "linux-64" / "repodata.json"
    rd = json.loads(rd_path.read_text())
    del rd["packages"]["lib-1.5-0.tar.bz2"]
    rd_path.write_text(json.dumps(rd))

    rc, stdout, _ = run("vendor", "verify", out, "--json")
    assert rc == 1
    missing = json.loads(stdout)["missing"]
    assert any(
        m.startswith("local_chan/linux-64/lib-1.5-0.tar.bz2 (locked by analysis") for m in missing
    )


def test_a_bundle_without_links_still_verifies(url: str, tmp_path: Path, run) -> None:
    """Copied to FAT media the ``current`` links are gone; the pointer files say it."""
    out = tmp_path / "OUT"
    _vendor(run, _env(tmp_path, url, "analysis", ["tool"]), "-o", out)
    (out / "envs" / "analysis" / "current").unlink()
    _verify(run, out)
    (out / "envs" / "analysis" / "current").symlink_to("versions/9-000000000000")
    rc, stdout, _ = run("vendor", "verify", out, "--json")
    assert rc == 1
    assert any("envs/analysis/current: points at" in c for c in json.loads(stdout)["corrupt"])


def test_a_delta_is_never_written_over_the_bundle_it_is_made_against(
    base: Path, url: str, tmp_path: Path, run
) -> None:
    before = snapshot(base)
    (tmp_path / "new").mkdir()
    updated = _env(tmp_path / "new", url, "analysis", ["app 2.0.*"])
    for since in (base, base / "manifest.json"):
        rc, _, err = run("vendor", updated, "-o", base, "--since", since, "--platform", "linux-64")
        assert rc == 2, err
        assert "write the delta to another -o/--output" in err
    assert snapshot(base) == before


def test_archives_behind_a_base_url_keep_their_channel_when_another_environment_comes(
    http_server: ChannelServer, tmp_path: Path, run
) -> None:
    """An archive's purl names the channel it was solved from, not the CDN its URL
    points at, whether this run vendored it or carried it over from the bundle."""
    chan = build_channel(tmp_path / "served" / "chan", PKGS, subdirs=("linux-64",))
    with ChannelServer(tmp_path / "cdn") as cdn:
        move_archives_elsewhere(chan, tmp_path / "cdn" / "flat", f"{cdn.url}/flat/")
        url = f"{http_server.url}/chan"
        out = tmp_path / "OUT"
        _vendor(run, _env(tmp_path, url, "analysis", ["tool"]), "-o", out)
        first = {f["path"]: f["purl"] for f in check_manifest(out)["files"] if "purl" in f}
        _vendor(run, _env(tmp_path, url, "other", ["lib 1.5.*"]), "-o", out)
    after = {f["path"]: f["purl"] for f in check_manifest(out)["files"] if "purl" in f}
    assert {k: after[k] for k in first} == first
    assert all(f"channel={http_server.url}/chan" in p for p in after.values())


def test_prune_drops_a_whole_environment_and_only_its_archives(
    base: Path, tmp_path: Path, run
) -> None:
    tools_only = _locked_files(base, "tools") - _locked_files(base, "analysis")
    assert tools_only == {"local_chan/noarch/tool-0.1-0.conda"}
    rc, stdout, err = run("vendor", "prune", base, "--drop", "tools", "--json")
    assert rc == 0, err
    doc = json.loads(stdout)
    assert doc["dropped_environments"] == ["tools"] and len(doc["dropped_versions"]) == 1
    assert sorted(_index(base)["environments"]) == ["analysis"]
    assert not (base / "envs" / "tools").exists()
    assert not any((base / rel).exists() for rel in tools_only)
    assert all((base / rel).is_file() for rel in _locked_files(base, "analysis"))  # data stays
    _verify(run, base)
    check_manifest(base)
    rc, _, err = run("vendor", "prune", base, "--drop", "nosuch")
    assert rc == 2 and "no environment 'nosuch' in the bundle (it has analysis)" in err


def test_a_damaged_bundle_is_one_line_and_stays_as_it_was(
    base: Path, url: str, tmp_path: Path, run
) -> None:
    (base / "local_chan" / "noarch" / "repodata.json").write_text("{not json")
    before = snapshot(base)
    (tmp_path / "new").mkdir()
    rc, stdout, _ = _vendor_raw(run, _env(tmp_path / "new", url, "analysis", ["tool"]), base)
    assert rc == 1
    doc = json.loads(stdout)
    assert "local_chan/noarch/repodata.json: unreadable" in doc["error"]
    assert "vendor verify" in doc["error"] and doc["error_type"] == "BundleError"
    assert snapshot(base) == before


def test_prune_of_a_damaged_bundle_is_one_line_and_leaves_it_as_it_was(base: Path, run) -> None:
    (base / "local_chan" / "noarch" / "repodata.json").write_text("{not json")
    before = snapshot(base)
    rc, _, err = run("vendor", "prune", base, "--keep", "1")
    assert rc == 1, err
    assert "local_chan/noarch/repodata.json: unreadable" in err and "vendor verify" in err
    assert len(err.strip().splitlines()) == 1
    assert snapshot(base) == before


def _vendor_raw(run, env: Path, out: Path) -> tuple[int, str, str]:
    return run("vendor", env, "-o", out, "--platform", "linux-64", "--json")
