"""``README.md`` and ``SHA256SUMS`` at a bundle's root, written by every command that
changes the bundle. Every line is read back: the README is compared whole with a text
built here from the bundle's own files, its commands are run, and ``sha256sum`` itself
checks ``SHA256SUMS``. Bundles are real (vendored over loopback)."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from conda_vendor_plugin import __version__
from conda_vendor_plugin.formats.registry import read_path

from ..support.build import Pkg, build_channel
from ..support.bundles import vendor_bundle
from ..support.server import ChannelServer
from ..support.vendoring import snapshot, write_env

pytest.importorskip("rattler")

PKGS = [
    Pkg("app", "1.0", depends=["lib"]),
    Pkg("app", "2.0", depends=["lib"]),
    Pkg("lib", "1.5", subdir="linux-64", fmt=".conda"),
    Pkg("data", "2024.1"),
]
RUN = "python -m conda_vendor_plugin"
NOT_SUMMED = {"README.md", "SHA256SUMS", "manifest.json", "sbom.cdx.json"}


@pytest.fixture
def served(tmp_path: Path) -> Path:
    build_channel(tmp_path / "served" / "chan", PKGS, subdirs=("linux-64",))
    return tmp_path / "served"


@pytest.fixture
def bundle(served: Path, tmp_path: Path) -> Path:
    runs = [("analysis", ["app 1.0.*"]), ("analysis", ["app 2.0.*"]), ("tools", ["data"])]
    return vendor_bundle(served, tmp_path / "OUT", "chan", runs)


def _files(out: Path) -> dict[str, Path]:
    """Every regular file SHA256SUMS must list (links and the four files excluded)."""
    found = {}
    for rel in snapshot(out):
        path = out / rel
        if rel not in NOT_SUMMED and not path.is_symlink() and path.is_file():
            if not any(p.is_symlink() for p in path.relative_to(out).parents if str(p) != "."):
                found[rel] = path
    return found


def _expected_readme(out: Path) -> str:
    """The README this bundle must have, from bundle.json, the lockfiles and the files."""
    index = json.loads((out / "bundle.json").read_text())
    files = _files(out)
    sizes = {rel: p.stat().st_size for rel, p in files.items()}
    names = list(index["environments"])
    holds = []
    for name, env in index["environments"].items():
        (current,) = [v for v in env["versions"] if v["id"] == env["current"]]
        folder = out / "envs" / name / "versions" / env["current"]
        lock = read_path(folder / "environment.lock.yml")
        n = len(lock.packages["linux-64"])
        size = sum(sizes[a] for a in current["archives"])
        kept = ", ".join(v["id"] for v in env["versions"])
        plural = "s" if n != 1 else ""
        holds.append(
            f"- `{name}`: current version `{env['current']}` (linux-64: {n} package{plural}; "
            f"{size:,} bytes of archives); versions kept: {kept}"
        )
    (url,) = index["channels"].values()
    n_archives = sum(1 for rel in files if rel.endswith((".conda", ".tar.bz2")))
    chan = sum(s for rel, s in sizes.items() if rel.startswith("local_chan/"))
    installs = [f"    {RUN} vendor install . {n} --prefix <prefix>" for n in names]
    condas = [
        f"    conda create -p <prefix> --offline --file envs/{n}/versions/"
        f"{index['environments'][n]['current']}/linux-64.explicit.txt"
        for n in names
    ]
    return (
        "\n".join(
            [
                f"# conda environments: {', '.join(names)}",
                "",
                f"This folder is a conda environment bundle, made by conda-vendor-plugin "
                f"{__version__}. Every command that changes it (vendor, vendor apply, vendor "
                f"prune) writes this file anew.",
                "",
                "## What it holds",
                "",
                *holds,
                "",
                f"- `local_chan/`: {n_archives} archives ({chan:,} bytes) from {url}",
                "",
                f"{len(files)} files in SHA256SUMS, {sum(sizes.values()):,} bytes.",
                "",
                "## Check it",
                "",
                "From this folder (the bundle's root), with this tool:",
                "",
                f"    {RUN} vendor verify .",
                "",
                "or without it:",
                "",
                "    sha256sum -c SHA256SUMS",
                "",
                "`SHA256SUMS` covers every file but itself, `README.md`, `manifest.json` and "
                "`sbom.cdx.json`; `vendor verify` checks all of them (`manifest.json` lists every "
                "file with its sha256).",
                "",
                "## Install",
                "",
                "From this folder, with no network and no solve; `<prefix>` is the new "
                "environment's folder. Without conda (needs py-rattler), every archive's sha256 "
                "checked:",
                "",
                *installs,
                "",
                "With conda (run `vendor verify` first: conda checks no hash of a local package):",
                "",
                *condas,
            ]
        )
        + "\n"
    )


def test_the_readme_says_what_the_bundle_holds(bundle: Path, tmp_path: Path) -> None:
    text = (bundle / "README.md").read_text()
    assert text == _expected_readme(bundle)
    assert str(tmp_path) not in text and "/tmp" not in text  # no path of this machine
    manifest = json.loads((bundle / "manifest.json").read_text())
    listed = {f["path"] for f in manifest["files"]}
    assert {"README.md", "SHA256SUMS"} <= listed  # verify checks them too


def test_sha256sums_is_checked_by_sha256sum(bundle: Path) -> None:
    sums = (bundle / "SHA256SUMS").read_text().splitlines()
    assert [line.split("  ", 1)[1] for line in sums] == sorted(_files(bundle))
    ok = subprocess.run(["sha256sum", "-c", "--strict", "SHA256SUMS"], cwd=bundle)
    assert ok.returncode == 0

    archive = bundle / "local_chan" / "noarch" / "data-2024.1-0.tar.bz2"
    data = bytearray(archive.read_bytes())
    data[50] ^= 1
    archive.write_bytes(bytes(data))
    bad = subprocess.run(
        ["sha256sum", "-c", "--quiet", "SHA256SUMS"], cwd=bundle, capture_output=True, text=True
    )
    assert bad.returncode == 1
    assert bad.stdout.splitlines() == ["local_chan/noarch/data-2024.1-0.tar.bz2: FAILED"]


def test_the_readme_commands_work(
    bundle: Path, tmp_path: Path, run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each command line of the README, run as written from the bundle's root (``<prefix>``
    filled in; ``python -m conda_vendor_plugin`` is the in-process ``run``)."""
    monkeypatch.chdir(bundle)
    commands = [
        line.strip()
        for line in (bundle / "README.md").read_text().splitlines()
        if line.startswith(f"    {RUN} ")
    ]
    assert len(commands) == 3
    for i, command in enumerate(commands):
        argv = shlex.split(command.replace("<prefix>", str(tmp_path / f"p{i}")))[3:]
        rc, out, err = run(*argv)
        assert rc == 0, out + err
    assert sorted(p.name for p in (tmp_path / "p1" / "conda-meta").glob("*.json")) == [
        "app-2.0-0.json",
        "lib-1.5-0.json",
    ]
    for line in (bundle / "README.md").read_text().splitlines():
        if line.startswith("    conda create "):
            assert (bundle / line.split("--file ")[1]).is_file()


def test_every_change_rewrites_it_and_the_same_bundle_gives_the_same_bytes(
    bundle: Path, served: Path, tmp_path: Path, run
) -> None:
    before = (bundle / "README.md").read_bytes(), (bundle / "SHA256SUMS").read_bytes()
    copy = tmp_path / "COPY"
    shutil.copytree(bundle, copy, symlinks=True)

    rc, out, err = run("vendor", "prune", bundle, "--keep", "1")
    assert rc == 0, out + err
    assert (bundle / "README.md").read_text() == _expected_readme(bundle)
    assert "versions kept: 1-" not in (bundle / "README.md").read_text().split("tools")[0]

    rc, out, err = run("vendor", "prune", copy, "--drop", "tools")
    assert rc == 0, out + err
    assert (copy / "README.md").read_text() == _expected_readme(copy)
    assert "tools" not in (copy / "README.md").read_text()
    assert (bundle / "README.md").read_bytes() != before[0]

    # The same inputs vendored again into an equal bundle: the same bytes.
    again = tmp_path / "AGAIN"
    runs = [("analysis", ["app 1.0.*"]), ("analysis", ["app 2.0.*"]), ("tools", ["data"])]
    (tmp_path / "again").mkdir()
    vendor_bundle(served, again, "chan", runs)
    text = (again / "README.md").read_text()
    assert text == _expected_readme(again)
    assert os.path.exists(again / "SHA256SUMS")
    assert (again / "SHA256SUMS").read_bytes().count(b"\n") == before[1].count(b"\n")


def test_a_delta_says_it_must_be_applied_and_apply_rewrites_the_bundle_readme(
    served: Path, tmp_path: Path, run
) -> None:
    base, delta = tmp_path / "BASE", tmp_path / "DELTA"
    with ChannelServer(served) as srv:
        env = write_env(tmp_path / "t.yml", [f"{srv.url}/chan"], ["data"], "tools")
        assert run("vendor", env, "--platform", "linux-64", "-o", base)[0] == 0
        env = write_env(tmp_path / "t.yml", [f"{srv.url}/chan"], ["data", "app 1.0.*"], "tools")
        rc, out, err = run("vendor", env, "--platform", "linux-64", "-o", delta, "--since", base)
    assert rc == 0, out + err
    text = (delta / "README.md").read_text()
    assert text.split("## Install\n\n", 1)[1] == (
        "This is a delta: it leaves out the archives of the bundle it was made against. "
        "Apply it to that bundle first:\n\n"
        f"    {RUN} vendor apply . --to <that bundle>\n"
    )
    assert "This folder is a delta of a conda environment bundle, made by" in text

    (fresh,) = (p.name for p in (delta / "envs/tools/versions").iterdir())
    assert fresh.startswith("1-")  # a delta numbers its version as if alone

    rc, out, err = run("vendor", "apply", delta, "--to", base)
    assert rc == 0, out + err
    assert (base / "README.md").read_text() == _expected_readme(base)
    assert "`tools`: current version `2-" in (base / "README.md").read_text()
    # the applied version was renumbered, and its headers name the folder it is now in
    applied = f"envs/tools/versions/2-{fresh.split('-', 1)[1]}"
    for name in ("linux-64.explicit.txt", "environment-linux-64.yml"):
        header = [x for x in (base / applied / name).read_text().splitlines() if x[:1] == "#"]
        assert any(f"{applied}/{name}" in line for line in header), header
        assert not any(f"versions/{fresh}/" in line for line in header), header
