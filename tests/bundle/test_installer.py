"""``vendor --with-installer``: a bundle that installs on a machine with only Python.

The online side is real: this checkout is built into a wheel, its dependencies' wheels
come from the package index once per machine (a cache in the system temp folder), and
both are served from 127.0.0.1 as pip's ``--find-links``; ``vendor --with-installer``
fetches the installer's wheels through pip's own configuration from there. Then, as a
new machine would: the servers stopped, a plain Python (not this test's venv, the tool
not importable), ``PIP_NO_INDEX=1``, proxies pointing at a closed port, and
``sh install.sh`` from the bundle. Skipped, with the reason, where the index cannot be
reached.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import zipfile
from pathlib import Path

import pytest

from conda_vendor_plugin import __version__
from conda_vendor_plugin.bundle import installer
from conda_vendor_plugin.formats.registry import read_path

from ..support.build import Pkg, build_channel
from ..support.bundles import current, vendor_bundle

pytest.importorskip("rattler")

ROOT = Path(__file__).resolve().parents[2]
PY = f"{sys.version_info.major}.{sys.version_info.minor}"
CACHE = Path(tempfile.gettempdir()) / "conda-vendor-plugin-test-wheels" / f"py{PY}-{__version__}"


def _pip(*args: object) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "pip", "--disable-pip-version-check", *map(str, args)]
    return subprocess.run(argv, capture_output=True, text=True, check=False)


def _last_line(r: subprocess.CompletedProcess[str]) -> str:
    lines = [x for x in (r.stderr + r.stdout).splitlines() if x.strip()]
    return lines[-1] if lines else f"exit status {r.returncode}"


@pytest.fixture(scope="module")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This checkout's wheel (built now) and its dependencies' wheels (cached per machine)."""
    served = tmp_path_factory.mktemp("wheelhouse")
    built = _pip("wheel", "--no-deps", "--quiet", "-w", served, ROOT)
    if built.returncode != 0:
        pytest.skip(f"cannot build this package's wheel (index unreachable?): {_last_line(built)}")
    if not CACHE.is_dir():
        tmp = Path(tempfile.mkdtemp(prefix=".wheels-", dir=CACHE.parent if _mk(CACHE) else None))
        got = _pip(
            "download",
            "--only-binary=:all:",
            "--quiet",
            "-d",
            tmp,
            "--find-links",
            served,
            f"conda-vendor-plugin[rattler]=={__version__}",
        )
        if got.returncode != 0:
            shutil.rmtree(tmp, ignore_errors=True)
            pytest.skip(f"the package index cannot be reached: {_last_line(got)}")
        for own in tmp.glob("conda_vendor_plugin-*"):
            own.unlink()
        try:
            os.rename(tmp, CACHE)
        except OSError:  # another run filled it meanwhile
            shutil.rmtree(tmp, ignore_errors=True)
    for wheel in CACHE.glob("*.whl"):
        shutil.copy(wheel, served / wheel.name)
    return served


def _mk(path: Path) -> bool:
    path.parent.mkdir(parents=True, exist_ok=True)
    return True


@pytest.fixture
def find_links(wheelhouse: Path):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(wheelhouse))
    handler.log_message = lambda *a: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def _plain_python() -> str:
    """An interpreter without this package (the base of the test's venv)."""
    base = getattr(sys, "_base_executable", sys.executable)
    probe = subprocess.run(
        [base, "-c", "import conda_vendor_plugin"], capture_output=True, env={"PATH": "/usr/bin"}
    )
    if probe.returncode == 0:
        pytest.skip(f"{base} has conda_vendor_plugin installed: not a new machine")
    return base


def test_a_machine_with_only_python_installs_from_the_bundle(
    find_links: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_channel(
        tmp_path / "served" / "chan",
        [Pkg("app", depends=["lib"]), Pkg("lib", subdir="linux-64")],
        subdirs=("linux-64",),
    )
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", find_links)
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    out = vendor_bundle(
        tmp_path / "served",
        tmp_path / "OUT",
        "chan",
        [("vendored", ["app"])],
        extra=("--with-installer", "--installer-python", PY),
    )
    wheels = sorted(p.name for p in (out / installer.WHEELS).iterdir())
    assert any(w.startswith(f"conda_vendor_plugin-{__version__}-") for w in wheels)
    assert any(w.startswith("py_rattler-") for w in wheels)
    manifest = {f["path"] for f in json.loads((out / "manifest.json").read_text())["files"]}
    assert {f"{installer.WHEELS}/{w}" for w in wheels} <= manifest
    assert (out / "install.sh").read_text() == installer.sh_text()
    assert (out / "install.ps1").read_bytes() == installer.ps1_text().encode()
    assert os.access(out / "install.sh", os.X_OK)
    readme = (out / "README.md").read_text().splitlines()
    i = readme.index("    sh install.sh vendored --prefix <prefix>")
    assert readme[i - 2 : i + 2] == [
        "With only a Python >= 3.10 (no conda, no network, this tool not installed: a "
        "throw-away virtualenv from the wheels in `installer/wheels/`):",
        "",
        "    sh install.sh vendored --prefix <prefix>",
        "    powershell -File install.ps1 vendored --prefix <prefix>",
    ]

    # The far side: the servers are gone, no index, no proxy that answers, no tool.
    far = tmp_path / "far"
    far.mkdir()
    shutil.copytree(out, far / "bundle", symlinks=True)
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(far),
        "TMPDIR": str(far),
        "PIP_NO_INDEX": "1",
        "PIP_CONFIG_FILE": os.devnull,
        "http_proxy": "http://127.0.0.1:9",
        "https_proxy": "http://127.0.0.1:9",
        "PYTHON": _plain_python(),
    }
    prefix = far / "env"
    done = subprocess.run(
        ["sh", str(far / "bundle" / "install.sh"), "vendored", "--prefix", str(prefix)],
        cwd=far,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("Installed vendored ")
    lock = read_path(current(out, "vendored") / "environment.lock.yml")
    records = sorted(p.name for p in (prefix / "conda-meta").glob("*.json"))
    assert records == sorted(f"{p.dist}.json" for p in lock.packages["linux-64"])
    assert sorted(p.name for p in far.iterdir()) == ["bundle", "env"]  # the venv is gone


def test_the_scripts_read_back() -> None:
    """Every line of both scripts, as the bundle carries them."""
    req = f'"conda-vendor-plugin[rattler]=={__version__}"'
    sh = installer.sh_text().splitlines()
    assert sh[0] == "#!/bin/sh"
    assert sh[1:8] == [
        f"# Written by conda-vendor-plugin {__version__}. Installs an environment of this",
        "# bundle on a machine with only a Python >= 3.10 (no conda, no network): a",
        "# throw-away virtualenv from the wheels in installer/wheels/, then",
        "#   vendor install <this bundle> ARGS...",
        "# Usage: sh install.sh [ENV] --prefix PREFIX [--version ID] [--force]",
        "# The Python used: $PYTHON, else python3.",
        "set -eu",
    ]
    assert sh[-3:] == [
        "  --no-index \\",
        f'  --find-links "$here/installer/wheels" {req}',
        '"$venv/bin/python" -m conda_vendor_plugin vendor install "$here" "$@"',
    ]
    ps1 = installer.ps1_text()
    assert ps1.endswith("\r\n") and "\n" not in ps1.replace("\r\n", "")
    lines = ps1.split("\r\n")
    assert f'        --find-links (Join-Path $here "installer\\wheels") {req}' in lines
    assert "    & $py -m conda_vendor_plugin vendor install $here @args" in lines
    assert "    Remove-Item -Recurse -Force -ErrorAction SilentlyContinue $venv" in lines


def test_pip_is_asked_for_the_targets_tags() -> None:
    args = installer.pip_download_args("osx-arm64", "3.12", Path("/d"))
    assert args[1:4] == ["-m", "pip", "download"]
    assert (
        "--only-binary=:all:" in args and args[-1] == f"conda-vendor-plugin[rattler]=={__version__}"
    )
    pairs = list(itertools.pairwise(args))
    assert ("--python-version", "3.12") in pairs and ("--implementation", "cp") in pairs
    assert {b for a, b in pairs if a == "--abi"} == {"cp312", "abi3", "none"}
    tags = {b for a, b in pairs if a == "--platform"}
    assert "macosx_11_0_arm64" in tags and not any("x86_64" in t for t in tags)
    win = installer.pip_download_args("win-64", "3.10", Path("/d"))
    assert [b for a, b in itertools.pairwise(win) if a == "--platform"] == ["win_amd64"]


def test_wheels_pip_cannot_find_are_one_line_and_no_bundle(
    tmp_path: Path, run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pip's configuration points at an empty folder: the run names pip, the platform and
    the Python, and writes no bundle (real pip, no network)."""
    build_channel(tmp_path / "served" / "chan", [Pkg("app")])
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path / "empty"))
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    from ..support.server import ChannelServer
    from ..support.vendoring import write_env

    with ChannelServer(tmp_path / "served") as srv:
        env = write_env(tmp_path / "e.yml", [f"{srv.url}/chan"], ["app"])
        rc, _, err = run(
            "vendor",
            env,
            "--platform",
            "linux-64",
            "-o",
            tmp_path / "OUT",
            "--with-installer",
            "--installer-python",
            "3.12",
        )
    assert rc == 1
    errors = [x for x in err.splitlines() if x.startswith("error: ")]
    assert errors == [
        "error: pip download of the installer's wheels for linux-64, Python 3.12 failed: "
        f"ERROR: No matching distribution found for conda-vendor-plugin=={__version__}. "
        "pip's configuration (PIP_INDEX_URL, PIP_FIND_LINKS) says where from"
    ]
    assert not (tmp_path / "OUT").exists()
    rc, _, err = run("vendor", env, "--with-installer", "--installer-python", "3.9")
    assert rc == 1 and "installer Python '3.9' is not 3.10 or later" in err
    rc, _, err = run("vendor", env, "--installer-python", "3.12")
    assert rc == 2 and "--installer-python goes with --with-installer" in err


def _stand_in_wheel(folder: Path) -> Path:
    """A wheel named as this package's, with no dependencies: pip's real download picks it
    from a folder (``PIP_FIND_LINKS``) in a second, where the real wheels need an index."""
    folder.mkdir()
    dist = f"conda_vendor_plugin-{__version__}.dist-info"
    path = folder / f"conda_vendor_plugin-{__version__}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(
            f"{dist}/METADATA",
            f"Metadata-Version: 2.1\nName: conda-vendor-plugin\nVersion: {__version__}\n"
            "Provides-Extra: rattler\n",
        )
        zf.writestr(
            f"{dist}/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        )
        zf.writestr(f"{dist}/RECORD", "")
    return path


def _edit(out: Path, name: str, edit) -> None:
    """Edit a JSON file of the bundle and the manifest's record of it to match, as an
    attacker who controls the bundle would (only the SBOM check can tell)."""
    doc = json.loads((out / name).read_text())
    edit(doc)
    data = (json.dumps(doc, indent=1) + "\n").encode()
    (out / name).write_bytes(data)
    manifest = json.loads((out / "manifest.json").read_text())
    (item,) = [f for f in manifest["files"] if f["path"] == name]
    item["sha256"], item["size"] = hashlib.sha256(data).hexdigest(), len(data)
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")


def test_the_installer_wheels_are_in_the_sbom_and_verified(
    tmp_path: Path, run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each wheel --with-installer carries is a pkg:pypi component with its file's sha256
    (as the lock's wheels are); verify names a component that lies about one, or is gone."""
    from ..support.server import ChannelServer
    from ..support.vendoring import validate_cyclonedx, write_env

    build_channel(tmp_path / "served" / "chan", [Pkg("app")])
    wheel = _stand_in_wheel(tmp_path / "wheels")
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(wheel.parent))
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    out = tmp_path / "OUT"
    with ChannelServer(tmp_path / "served") as srv:
        env = write_env(tmp_path / "e.yml", [f"{srv.url}/chan"], ["app"])
        rc, _, err = run(
            "vendor", env, "--platform", "linux-64", "-o", out, "--with-installer",
            "--installer-python", "3.12",
        )  # fmt: skip
    assert rc == 0, err
    rel = f"{installer.WHEELS}/{wheel.name}"
    text = (out / "sbom.cdx.json").read_text()
    validate_cyclonedx(text)
    (component,) = [c for c in json.loads(text)["components"] if c["bom-ref"] == rel]
    sha256 = hashlib.sha256(wheel.read_bytes()).hexdigest()
    assert component == {
        "bom-ref": rel,
        "hashes": [{"alg": "SHA-256", "content": sha256}],
        "name": "conda_vendor_plugin",
        "properties": [{"name": "conda-vendor:path", "value": rel}],
        "purl": f"pkg:pypi/conda-vendor-plugin@{__version__}",
        "type": "library",
        "version": __version__,
    }

    def lie(doc: dict) -> None:
        (c,) = [c for c in doc["components"] if c["bom-ref"] == rel]
        c["hashes"][0]["content"] = "0" * 64

    _edit(out, "sbom.cdx.json", lie)
    rc, stdout, _ = run("vendor", "verify", out, "--json")
    assert rc == 1
    assert json.loads(stdout)["corrupt"] == [
        f"sbom.cdx.json: {rel}: its SHA-256 is not {sha256}, the wheel's"
    ]

    def drop(doc: dict) -> None:
        doc["components"] = [c for c in doc["components"] if c["bom-ref"] != rel]

    _edit(out, "sbom.cdx.json", drop)
    rc, stdout, _ = run("vendor", "verify", out, "--json")
    assert rc == 1
    assert json.loads(stdout)["corrupt"] == [f"sbom.cdx.json: {rel} has no component"]
