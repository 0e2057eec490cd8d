"""``vendor`` without conda (py-rattler), end to end over loopback HTTP.

Channels are copies of real test channels from ../shared/testdata (tests that need them
skip where it is absent) or channels built at test time by ``tests/support/build.py``
with real archives and hashes. Runs go through ``cli.main`` in-process (the same code
as ``python -m conda_vendor_plugin``) or through a real subprocess where the whole
process output matters (credentials).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conda_vendor_plugin.formats import explicit_v1

from .support.build import Pkg, build_channel
from .support.bundles import current, current_rel, env_report
from .support.interrupt import interrupt_when
from .support.locking import run_module
from .support.server import ChannelServer
from .support.vendoring import (
    archive_index_json,
    archives,
    check_local_channel,
    check_manifest,
    load_json,
    move_archives_elsewhere,
    set_repodata_info,
    sha256,
    snapshot,
    write_env,
)

pytest.importorskip("rattler")


def _archive_gets(server: ChannelServer) -> list[str]:
    return sorted(
        p for m, p, _, st in server.requests if m == "GET" and p.endswith((".conda", ".tar.bz2"))
    )


# ------------------------------------------------------------------ real channels


def test_two_channels_at_once(shared_channel, http_server, tmp_path: Path, run) -> None:
    recipes = shared_channel("conda-test-recipes")
    fmt = shared_channel("conda-format-repo")
    env = write_env(
        tmp_path / "environment.yml",
        [f"{http_server.url}/conda-test-recipes", f"{http_server.url}/conda-format-repo"],
        ["another_dependent", "run_constrained", "zlib"],
    )
    out = tmp_path / "OUT"
    rc, stdout, stderr = run("vendor", env, "-o", out, "--platform", "osx-64")
    assert rc == 0, stderr

    locals_ = sorted(p.name for p in out.iterdir() if p.is_dir())
    assert locals_ == ["envs", "local_conda-format-repo", "local_conda-test-recipes"]
    n = check_local_channel(out / "local_conda-test-recipes", recipes, ["osx-64"])
    n += check_local_channel(out / "local_conda-format-repo", fmt, ["osx-64"])

    lock = explicit_v1.load(current(out) / "environment.lock.yml")
    pkgs = lock.packages["osx-64"]
    names = {p.name: p for p in pkgs}
    assert set(names) == {"another_dependent", "dependent", "dependency", "run_constrained", "zlib"}
    assert names["dependency"].version == "2.0"  # run_constrained: dependency>=2.0
    assert names["zlib"].fn == "zlib-1.2.11-h1de35cc_3.conda"
    assert n == len(pkgs)
    for p in pkgs:
        local = "local_conda-format-repo" if p.name == "zlib" else "local_conda-test-recipes"
        assert (out / local / p.subdir / p.fn).is_file()

    # Upstream listed zlib in both formats; the solved .conda alone is vendored.
    fmt_doc = load_json(out / "local_conda-format-repo" / "osx-64" / "repodata.json")
    assert list(fmt_doc["packages.conda"]) == ["zlib-1.2.11-h1de35cc_3.conda"]
    assert fmt_doc["packages"] == {}

    env_file = (current(out) / "environment-osx-64.yml").read_text()
    # The local channels only, in priority order; no nodefaults (see env_file_text).
    assert "channels:\n  - ./local_conda-test-recipes\n  - ./local_conda-format-repo\n" in (
        env_file
    )
    assert "nodefaults" not in env_file.split("channels:")[1]
    for p in pkgs:
        assert f"  - {p.name}=={p.version}={p.build}\n" in env_file
    check_manifest(out)
    assert "local_conda-test-recipes: 4 packages" in stdout
    # staging swapped in, the lock file removed: nothing of ours left beside OUT
    assert [p.name for p in tmp_path.glob(".OUT*")] == []


@pytest.mark.parametrize(
    ("platform", "missing"),
    [
        ("linux-64", ("libgcc-ng-8.2.0-hdf63c60_1",)),
        ("win-64", ("vc-14.1-h0510ff6_4", "vs2015_runtime-14.15.26706-h3a45250_4")),
    ],
)
def test_listed_but_missing_archive_is_a_clear_404_and_keeps_the_previous_output(
    shared_channel, http_server, tmp_path: Path, run, platform: str, missing: tuple[str, ...]
) -> None:
    shared_channel("conda-format-repo")
    env = write_env(tmp_path / "env.yml", [f"{http_server.url}/conda-format-repo"], ["zlib"])
    out = tmp_path / "OUT"
    assert run("vendor", env, "-o", out, "--platform", "osx-64")[0] == 0
    before = snapshot(out)

    rc, stdout, stderr = run("vendor", env, "-o", out, "--platform", platform)
    assert rc == 1
    assert "404" in stderr
    assert any(m in stderr for m in missing), stderr
    assert f"{http_server.url}/conda-format-repo/{platform}/" in stderr
    assert snapshot(out) == before
    assert "Vendored" not in stdout


def test_multi_platform_run_shares_noarch(shared_channel, http_server, tmp_path: Path, run) -> None:
    chans = ["pixi-dummy_channel_1", "pixi-multiple_versions_channel_1", "rattler-test-server"]
    upstream = {c: shared_channel(c) for c in chans}
    env = write_env(
        tmp_path / "env.yml",
        [f"{http_server.url}/{c}" for c in chans],
        ["dummy-a", "package4 0.1.*", "test-package"],
    )
    out = tmp_path / "OUT"
    rc, _, stderr = run(
        "vendor", env, "-o", out, "--platform", "linux-64", "--platform", "osx-arm64"
    )
    assert rc == 0, stderr
    platforms = ["linux-64", "osx-arm64"]
    for c in chans:
        check_local_channel(out / f"local_{c}", upstream[c], platforms)

    lock = explicit_v1.load(current(out) / "environment.lock.yml")
    assert list(lock.platforms) == platforms
    for platform in platforms:
        got = {p.name: p for p in lock.packages[platform]}
        assert set(got) == {"dummy-a", "dummy-c", "package4", "package3", "test-package"}
        assert got["package3"].version == "0.1.0"
        assert got["test-package"].subdir == "noarch"
        assert got["dummy-a"].subdir == platform
        text = (current(out) / f"environment-{platform}.yml").read_text()
        assert "test-package==0.1=0" in text
        assert "./local_rattler-test-server" in text

    # The noarch .tar.bz2 both platforms use: fetched once, stored once, listed once.
    noarch = "local_rattler-test-server/noarch/test-package-0.1-0.tar.bz2"
    assert http_server.count("/rattler-test-server/noarch/test-package-0.1-0.tar.bz2") == 1
    rd = load_json(out / "local_rattler-test-server" / "noarch" / "repodata.json")
    assert list(rd["packages"]) == ["test-package-0.1-0.tar.bz2"]
    assert rd["packages.conda"] == {}
    manifest = check_manifest(out)
    assert [f["path"] for f in manifest["files"]].count(noarch) == 1
    assert env_report(manifest)["platforms"] == platforms
    got_archives = archives(out)
    assert len(got_archives) == 9  # 4 per platform + the shared noarch one
    assert len(_archive_gets(http_server)) == 9


# ------------------------------------------------------------------ built channels


def test_tar_bz2_and_conda_archives_land_in_their_sections(
    http_server, tmp_path: Path, run
) -> None:
    root = build_channel(
        tmp_path / "served" / "chan",
        [
            Pkg("app", fmt=".conda", subdir="linux-64", depends=["lib", "data"]),
            Pkg("lib", fmt=".tar.bz2", subdir="linux-64"),  # no .conda of it exists
            Pkg("data", fmt=".tar.bz2", payload_size=50_000),
            Pkg("data", fmt=".conda", payload_size=50_000),  # both: the solver takes .conda
        ],
    )
    env = write_env(tmp_path / "env.yml", [f"{http_server.url}/chan"], ["app"])
    out = tmp_path / "OUT"
    rc, _, stderr = run("vendor", env, "-o", out, "--platform", "linux-64")
    assert rc == 0, stderr
    assert check_local_channel(out / "local_chan", root, ["linux-64"]) == 3
    linux = load_json(out / "local_chan" / "linux-64" / "repodata.json")
    assert list(linux["packages"]) == ["lib-1.0-0.tar.bz2"]
    assert list(linux["packages.conda"]) == ["app-1.0-0.conda"]
    noarch = load_json(out / "local_chan" / "noarch" / "repodata.json")
    assert list(noarch["packages.conda"]) == ["data-1.0-0.conda"]
    assert noarch["packages"] == {}
    assert sorted(archives(out)) == [
        "local_chan/linux-64/app-1.0-0.conda",
        "local_chan/linux-64/lib-1.0-0.tar.bz2",
        "local_chan/noarch/data-1.0-0.conda",
    ]
    assert run("vendor", "verify", out)[0] == 0


def test_hotfixed_repodata_fields_survive(http_server, tmp_path: Path, run) -> None:
    root = build_channel(
        tmp_path / "served" / "chan",
        [
            # The channel hotfixed 'app': a dependency and a licence its archive does not have.
            Pkg("app", extra={"depends": ["dep >=1"], "license": "LicenseRef-hotfixed"}),
            Pkg("dep"),
        ],
        subdirs=("linux-64",),
    )
    # CEP 15 base_url: where upstream's archives live. Copied, it would send an offline
    # conda back across the air gap.
    set_repodata_info(root, "noarch", base_url=f"{http_server.url}/chan/noarch/", note="kept")
    env = write_env(tmp_path / "env.yml", [f"{http_server.url}/chan"], ["app"])
    out = tmp_path / "OUT"
    rc, _, stderr = run("vendor", env, "-o", out, "--platform", "linux-64")
    assert rc == 0, stderr
    check_local_channel(out / "local_chan", root, ["linux-64"])

    doc = load_json(out / "local_chan" / "noarch" / "repodata.json")
    assert doc["info"] == {"subdir": "noarch", "note": "kept"}  # no base_url
    entry = doc["packages"]["app-1.0-0.tar.bz2"]
    assert entry["depends"] == ["dep >=1"]
    assert entry["license"] == "LicenseRef-hotfixed"
    # The archive itself still says otherwise: the entry was copied, not rebuilt from it.
    inside = archive_index_json(out / "local_chan" / "noarch" / "app-1.0-0.tar.bz2")
    assert inside["depends"] == [] and inside["license"] == "BSD-3-Clause"
    # The solver saw the hotfix too: 'dep' is only reachable through it.
    assert "dep-1.0-0.tar.bz2" in doc["packages"]


def test_archives_behind_base_url_on_another_host_come_from_there(tmp_path: Path, run) -> None:
    # CEP 15: the repodata lives on one server, its archives (flat, no subdirs) on another
    # (a mirror or CDN) named by info.base_url. The channel's token goes to the channel
    # only (credentials scoped to their channel, docs/security.md): the CDN sees none.
    token = "tk-cdn-51e0"
    root = build_channel(
        tmp_path / "served" / "chan",
        [Pkg("app", depends=["lib"], fmt=".conda"), Pkg("lib", subdir="linux-64")],
    )
    out = tmp_path / "OUT"
    with (
        ChannelServer(tmp_path / "served", token=token) as repo,
        ChannelServer(tmp_path / "cdn") as cdn,
    ):
        cdn_base = f"http://127.0.0.1:{cdn.port}/flat/"
        move_archives_elsewhere(root, tmp_path / "cdn" / "flat", cdn_base)
        env = write_env(tmp_path / "env.yml", [f"{repo.url}/chan"], ["app"])
        rc, stdout, stderr = run("vendor", env, "-o", out, "--platform", "linux-64")
    assert rc == 0, stderr
    assert _archive_gets(cdn) == ["/flat/app-1.0-0.conda", "/flat/lib-1.0-0.tar.bz2"]
    assert _archive_gets(repo) == []
    assert [p for p, auth in cdn.seen if token in p or auth] == []

    # Vendored into the channel they were solved from, not one named after the CDN.
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["envs", "local_chan"]
    check_local_channel(
        out / "local_chan", root, ["linux-64"], archives_at=tmp_path / "cdn" / "flat"
    )
    check_manifest(out, secrets=[token])
    lock = explicit_v1.load(current(out) / "environment.lock.yml")
    assert sorted(p.url for p in lock.packages["linux-64"]) == [
        f"{cdn_base}app-1.0-0.conda",
        f"{cdn_base}lib-1.0-0.tar.bz2",
    ]
    assert run("vendor", "verify", out)[0] == 0
    assert token not in stdout + stderr
    for rel, data in snapshot(out).items():
        assert token.encode() not in data, rel


def test_token_never_reaches_output_or_terminal(tmp_path: Path) -> None:
    token = "tk-9f3c1e7a0b5d"
    root = build_channel(
        tmp_path / "served" / "chan",
        [Pkg("app", depends=["lib"]), Pkg("lib"), Pkg("mac", subdir="osx-64")],
    )
    out = tmp_path / "OUT"

    def vendor(env: Path, platform: str) -> subprocess.CompletedProcess[str]:
        return run_module("conda_vendor_plugin", "vendor", env, "-o", out, "--platform", platform)

    with ChannelServer(tmp_path / "served", token=token) as server:
        assert f"/t/{token}" in server.url  # the server answers 401 without it
        ok = vendor(write_env(tmp_path / "env.yml", [f"{server.url}/chan"], ["app"]), "linux-64")
        # A failing run prints the URL in its error: redacted as well.
        server.fail("/chan/osx-64/mac-1.0-0.tar.bz2", "corrupt")
        bad = vendor(
            write_env(tmp_path / "env2.yml", [f"{server.url}/chan"], ["app", "mac"]), "osx-64"
        )
    assert ok.returncode == 0, ok.stderr
    assert bad.returncode == 1
    assert "mac-1.0-0" in bad.stderr and "does not match" in bad.stderr
    assert f"127.0.0.1:{server.port}/chan/osx-64/mac-1.0-0.tar.bz2" in bad.stderr
    for proc in (ok, bad):
        assert token not in proc.stdout and token not in proc.stderr

    check_local_channel(out / "local_chan", root, ["linux-64"])
    check_manifest(out, secrets=[token])
    lock = (current(out) / "environment.lock.yml").read_text()
    assert f"127.0.0.1:{server.port}/chan/noarch/app-1.0-0.tar.bz2" in lock
    staging = snapshot(tmp_path / ".OUT.staging")  # what the failed run kept for the next
    files = {**snapshot(out), **{f".OUT.staging/{k}": v for k, v in staging.items()}}
    assert len(files) >= 9
    for rel, data in files.items():
        assert token.encode() not in data, rel
        assert b"/t/" not in data, rel


def test_dry_run_writes_nothing_and_lists_per_channel(http_server, tmp_path: Path, run) -> None:
    build_channel(tmp_path / "served" / "one", [Pkg("a", depends=["b"]), Pkg("b")])
    build_channel(tmp_path / "served" / "two", [Pkg("b2", fmt=".tar.bz2")])
    env = write_env(
        tmp_path / "env.yml", [f"{http_server.url}/one", f"{http_server.url}/two"], ["a", "b2"]
    )
    out = tmp_path / "OUT"
    rc, stdout, stderr = run("vendor", env, "-o", out, "--platform", "linux-64", "--dry-run")
    assert rc == 0, stderr
    assert not out.exists()
    assert not list(tmp_path.glob(".OUT*"))
    assert _archive_gets(http_server) == []
    assert "local_one: 2 packages" in stdout
    assert "local_two: 1 packages" in stdout
    for path in ("one/noarch/a-1.0-0.tar.bz2", "one/noarch/b-1.0-0.tar.bz2", "two/noarch/b2-1.0-0"):
        assert f"would fetch {http_server.url}/{path}" in stdout

    rc, stdout, _ = run("vendor", env, "-o", out, "--platform", "linux-64", "--dry-run", "--json")
    assert rc == 0
    doc = json.loads(stdout)
    assert doc["success"] is True and doc["dry_run"] is True
    assert doc["channels"] == {
        "local_one": {"packages": 2, "bytes": doc["channels"]["local_one"]["bytes"]},
        "local_two": {"packages": 1, "bytes": doc["channels"]["local_two"]["bytes"]},
    }
    assert sorted(f["path"] for f in doc["files"]) == [
        "local_one/noarch/a-1.0-0.tar.bz2",
        "local_one/noarch/b-1.0-0.tar.bz2",
        "local_two/noarch/b2-1.0-0.tar.bz2",
    ]
    assert not out.exists()
    assert _archive_gets(http_server) == []


def test_json_output_is_one_valid_document(http_server, tmp_path: Path, run) -> None:
    build_channel(tmp_path / "served" / "chan", [Pkg("a", depends=["b"]), Pkg("b")])
    env = write_env(tmp_path / "env.yml", [f"{http_server.url}/chan"], ["a"])
    out = tmp_path / "OUT"
    rc, stdout, stderr = run("vendor", env, "-o", out, "--platform", "linux-64", "--json")
    assert rc == 0
    # Progress stays quiet in JSON mode. (Not 'stderr == ""': the loopback server's threads
    # may log a client's connection reset to the same captured stderr.)
    assert "Solving" not in stderr and "Download" not in stderr and "Vendored" not in stderr
    doc = json.loads(stdout)
    assert doc["success"] is True
    assert doc["packages"] == 2
    assert env_report(doc)["platforms"] == {"linux-64": 2}
    assert doc["archives"] == {"downloaded": 2}
    # The reported paths go through the 'current' link, which a user types.
    lockfile = Path(env_report(doc)["lockfile"])
    assert lockfile == out / "envs" / "vendored" / "current" / "environment.lock.yml"
    assert lockfile.read_bytes() == (current(out) / "environment.lock.yml").read_bytes()
    assert Path(doc["manifest"]).is_file()
    names = [Path(p).name for p in env_report(doc)["environment_files"]]
    assert names == ["environment-linux-64.yml"]

    rc, stdout, _ = run("vendor", "verify", out, "--json")
    assert rc == 0
    assert json.loads(stdout)["problems"] == 0

    rc, stdout, _ = run("vendor", tmp_path / "nope.yml", "-o", out, "--json")
    assert rc == 1
    doc = json.loads(stdout)
    assert doc["success"] is False and "nope.yml" in doc["error"]


def test_failed_run_keeps_the_previous_output_and_the_next_run_reuses_archives(
    http_server, tmp_path: Path, run
) -> None:
    build_channel(
        tmp_path / "served" / "chan",
        [Pkg(n, payload_size=50_000) for n in ("a", "b", "c")],
    )
    env = tmp_path / "env.yml"
    out = tmp_path / "OUT"
    args = ("vendor", env, "-o", out, "--platform", "linux-64", "-j", "1")
    write_env(env, [f"{http_server.url}/chan"], ["a"])
    assert run(*args)[0] == 0
    before = snapshot(out)

    # Same input again: nothing is downloaded and OUT comes out byte-identical.
    http_server.requests.clear()
    assert run(*args)[0] == 0
    assert _archive_gets(http_server) == []
    assert snapshot(out) == before

    # The environment changed; 'c' arrives corrupt (archives are fetched in path order
    # with -j 1, so 'b' is complete and verified before 'c' fails).
    write_env(env, [f"{http_server.url}/chan"], ["a", "b", "c"])
    http_server.fail("/chan/noarch/c-1.0-0.tar.bz2", "corrupt")
    http_server.requests.clear()
    rc, _, stderr = run(*args)
    assert rc == 1
    assert "c-1.0-0" in stderr and "does not match" in stderr
    assert _archive_gets(http_server) == [
        "/chan/noarch/b-1.0-0.tar.bz2",
        "/chan/noarch/c-1.0-0.tar.bz2",
    ]
    assert snapshot(out) == before

    # The next run fetches only what it still lacks.
    http_server.requests.clear()
    rc, _, stderr = run(*args)
    assert rc == 0, stderr
    assert _archive_gets(http_server) == ["/chan/noarch/c-1.0-0.tar.bz2"]
    assert sorted(archives(out)) == [f"local_chan/noarch/{n}-1.0-0.tar.bz2" for n in "abc"]
    assert run("vendor", "verify", out)[0] == 0
    assert [p.name for p in tmp_path.glob(".OUT*")] == []


def test_refuses_to_replace_a_directory_it_did_not_write(http_server, tmp_path: Path, run) -> None:
    build_channel(tmp_path / "served" / "chan", [Pkg("a")])
    env = write_env(tmp_path / "env.yml", [f"{http_server.url}/chan"], ["a"])
    out = tmp_path / "precious"
    out.mkdir()
    (out / "thesis.tex").write_text("years of work\n")
    rc, _, stderr = run("vendor", env, "-o", out, "--platform", "linux-64")
    assert rc == 1
    assert "not written by conda vendor" in stderr and str(out) in stderr
    assert snapshot(out) == {"thesis.tex": b"years of work\n"}
    assert _archive_gets(http_server) == []
    assert not list(tmp_path.glob(".precious.*"))

    # A file in the way is refused too; an empty directory is fine.
    (tmp_path / "afile").write_text("x")
    assert run("vendor", env, "-o", tmp_path / "afile", "--platform", "linux-64")[0] == 1
    assert (tmp_path / "afile").read_text() == "x"
    (tmp_path / "empty").mkdir()
    assert run("vendor", env, "-o", tmp_path / "empty", "--platform", "linux-64")[0] == 0


def test_verify_reports_missing_extra_and_corrupt_files(http_server, tmp_path: Path, run) -> None:
    build_channel(
        tmp_path / "served" / "chan",
        [Pkg("a", depends=["b", "c"]), Pkg("b"), Pkg("c"), Pkg("d", subdir="linux-64")],
    )
    env = write_env(tmp_path / "env.yml", [f"{http_server.url}/chan"], ["a", "d"])
    out = tmp_path / "OUT"
    assert run("vendor", env, "-o", out, "--platform", "linux-64")[0] == 0
    rc, stdout, _ = run("vendor", "verify", out)
    assert rc == 0
    assert "4 archives checked, 1 environment versions, 0 problem(s)" in stdout

    noarch = out / "local_chan" / "noarch"
    (noarch / "b-1.0-0.tar.bz2").unlink()  # missing
    (noarch / "stray.tar.bz2").write_bytes(b"not listed anywhere")  # extra
    (out / "notes.txt").write_text("not in the manifest\n")  # extra, outside any channel
    data = bytearray((noarch / "c-1.0-0.tar.bz2").read_bytes())
    data[100] ^= 0x01
    (noarch / "c-1.0-0.tar.bz2").write_bytes(bytes(data))  # corrupt archive
    env_file = current(out) / "environment-linux-64.yml"
    env_file.write_text(env_file.read_text() + "# edited\n")  # corrupt (manifest sha256)

    rc, stdout, _ = run("vendor", "verify", out)
    assert rc == 1
    assert "missing: local_chan/noarch/b-1.0-0.tar.bz2" in stdout
    assert "extra: local_chan/noarch/stray.tar.bz2" in stdout
    assert "extra: notes.txt" in stdout
    assert "corrupt: local_chan/noarch/c-1.0-0.tar.bz2" in stdout
    edited = f"{current_rel(out)}/environment-linux-64.yml"
    assert f"corrupt: {edited}" in stdout
    assert "5 problem(s)" in stdout

    rc, stdout, _ = run("vendor", "verify", out, "--json")
    assert rc == 1
    doc = json.loads(stdout)
    assert doc["success"] is False
    assert doc["missing"] == ["local_chan/noarch/b-1.0-0.tar.bz2"]
    assert sorted(doc["extra"]) == ["local_chan/noarch/stray.tar.bz2", "notes.txt"]
    assert [c.split(":")[0] for c in doc["corrupt"]] == [
        "local_chan/noarch/c-1.0-0.tar.bz2",
        edited,
    ]

    # A whole platform directory gone: its archive is reported, not just its repodata.
    import shutil

    shutil.rmtree(out / "local_chan" / "linux-64")
    doc = json.loads(run("vendor", "verify", out, "--json")[1])
    assert "local_chan/linux-64/d-1.0-0.tar.bz2" in doc["missing"]
    assert "local_chan/linux-64/repodata.json" in doc["missing"]

    assert run("vendor", "verify", tmp_path / "nowhere")[0] == 1


def test_archives_in_the_package_cache_are_copied_not_downloaded(
    http_server, tmp_path: Path, run, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = build_channel(tmp_path / "served" / "chan", [Pkg("a", depends=["b"]), Pkg("b")])
    pkgs = tmp_path / "pkgs"
    pkgs.mkdir()
    (pkgs / "a-1.0-0.tar.bz2").write_bytes((root / "noarch" / "a-1.0-0.tar.bz2").read_bytes())
    (pkgs / "b-1.0-0.tar.bz2").write_bytes(b"a different b")  # same name, not the archive
    monkeypatch.setenv("CONDA_PKGS_DIRS", str(pkgs))
    env = write_env(tmp_path / "env.yml", [f"{http_server.url}/chan"], ["a"])
    out = tmp_path / "OUT"
    rc, stdout, _ = run("vendor", env, "-o", out, "--platform", "linux-64", "--json")
    assert rc == 0
    assert json.loads(stdout)["archives"] == {"cached": 1, "downloaded": 1}
    assert _archive_gets(http_server) == ["/chan/noarch/b-1.0-0.tar.bz2"]
    check_local_channel(out / "local_chan", root, ["linux-64"])
    assert sha256((out / "local_chan/noarch/b-1.0-0.tar.bz2").read_bytes()) != sha256(
        b"a different b"
    )


def test_python_m_entry_point_vendors(http_server, tmp_path: Path) -> None:
    """The real command line, in its own process, as a user runs it."""
    root = build_channel(tmp_path / "served" / "chan", [Pkg("a")])
    env = write_env(tmp_path / "env.yml", [f"{http_server.url}/chan"], ["a"])
    proc = run_module("conda_vendor_plugin", "vendor", env, "--platform", "linux-64", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Vendored 1 packages" in proc.stdout
    check_local_channel(tmp_path / "vendor" / "local_chan", root, ["linux-64"])  # default -o


def test_every_local_channel_has_noarch_and_each_platform_subdir(
    http_server, tmp_path: Path, run
) -> None:
    build_channel(tmp_path / "served" / "native", [Pkg("tool", subdir="linux-64")])
    build_channel(tmp_path / "served" / "pure", [Pkg("data")])
    env = write_env(
        tmp_path / "env.yml",
        [f"{http_server.url}/native", f"{http_server.url}/pure"],
        ["tool", "data"],
    )
    out = tmp_path / "OUT"
    assert run("vendor", env, "-o", out, "--platform", "linux-64")[0] == 0
    for chan, fn in (
        ("native", "linux-64/tool-1.0-0.tar.bz2"),
        ("pure", "noarch/data-1.0-0.tar.bz2"),
    ):
        local = out / f"local_{chan}"
        assert sorted(p.name for p in local.iterdir()) == ["linux-64", "noarch"]
        assert (local / fn).is_file()
        check_local_channel(local, tmp_path / "served" / chan, ["linux-64"])
    empty = load_json(out / "local_native" / "noarch" / "repodata.json")
    assert empty["packages"] == {} and empty["packages.conda"] == {}
    assert load_json(out / "local_pure" / "linux-64" / "repodata.json")["info"] == {
        "subdir": "linux-64"
    }


def test_interrupted_run_stops_promptly_and_keeps_the_previous_output(tmp_path: Path) -> None:
    """Ctrl-C during the downloads: exit 130 without fetching what was still queued, OUT
    untouched, and the next run works."""
    names = [f"p{i}" for i in range(8)]
    build_channel(tmp_path / "served" / "chan", [Pkg(n) for n in names])
    out = tmp_path / "OUT"
    env = tmp_path / "env.yml"
    cmd = [sys.executable, "-m", "conda_vendor_plugin", "vendor", str(env), "-o", str(out)]
    cmd += ["--platform", "linux-64", "-j", "1"]
    with ChannelServer(tmp_path / "served") as server:
        write_env(env, [f"{server.url}/chan"], ["p0"])
        assert subprocess.run(cmd, capture_output=True).returncode == 0
        before = snapshot(out)

        write_env(env, [f"{server.url}/chan"], names)
        server.requests.clear()
        for n in names[1:]:  # each of the 7 new archives is held until the client hangs up
            server.fail(f"/chan/noarch/{n}-1.0-0.tar.bz2", "hold")
        run = interrupt_when(cmd[3:], ready=lambda: server.holding == 1, settle=0)
        assert run.returncode == 130, run.stderr
        assert "interrupted" in run.stderr
        # Not every queued download first: the one in flight was dropped, held as it was.
        assert server.wait_holds(1) == ["hung up"]
        assert len(_archive_gets(server)) == 1
        assert snapshot(out) == before

        server.release()
        done = subprocess.run(cmd, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert sorted(archives(out)) == [f"local_chan/noarch/{n}-1.0-0.tar.bz2" for n in names]
