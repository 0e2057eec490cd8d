"""``vendor verify`` on a directory that holds no bundle says so in one line (not a
list of findings about files that were never a bundle's), exits non-zero, and with
``--json`` writes an error document. A damaged bundle is still verified."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest


def _a_virtualenv(root: Path) -> Path:
    """What a user may point verify at by mistake: links, files, a web manifest."""
    (root / "bin").mkdir(parents=True)
    (root / "lib" / "site").mkdir(parents=True)
    (root / "bin" / "python").symlink_to("/usr/bin/python3")
    (root / "bin" / "python3").symlink_to("python")
    (root / "lib64").symlink_to("lib")
    (root / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (root / "lib" / "site" / "x.py").write_text("")
    return root


@pytest.mark.parametrize("kind", ["virtualenv", "empty", "web-manifest"])
def test_verify_of_a_directory_that_is_no_bundle_is_one_line(
    kind: str, tmp_path: Path, run
) -> None:
    target = tmp_path / kind
    if kind == "virtualenv":
        _a_virtualenv(target)
    else:
        target.mkdir()
    if kind == "web-manifest":
        (target / "manifest.json").write_text(json.dumps({"name": "app", "icons": []}))

    rc, stdout, err = run("vendor", "verify", target)
    assert rc == 1
    assert stdout == ""
    assert err.strip().splitlines() == [
        f"error: {target}: not a bundle (no bundle.json, manifest.json of conda-vendor-plugin "
        f"or local_* channel in it); pass the directory conda vendor -o wrote"
    ]
    rc, stdout, _ = run("vendor", "verify", target, "--json")
    assert rc == 1
    doc = json.loads(stdout)
    assert doc["success"] is False and doc["error_type"] == "NotABundle"
    assert doc["error"].startswith(f"{target}: not a bundle")


def test_a_bundle_that_lost_its_manifest_and_index_is_still_verified(
    tmp_path: Path, run, http_server
) -> None:
    """A damaged bundle is reported file by file: it is not mistaken for no bundle."""
    pytest.importorskip("rattler")
    from ..support.build import Pkg, build_channel
    from ..support.vendoring import write_env

    build_channel(tmp_path / "served" / "chan", [Pkg("data")])
    env = write_env(tmp_path / "env.yml", [f"{http_server.url}/chan"], ["data"], name="env")
    out = tmp_path / "OUT"
    rc, _, err = run("vendor", env, "-o", out, "--platform", "linux-64")
    assert rc == 0, err
    os.unlink(out / "manifest.json")
    os.unlink(out / "bundle.json")
    rc, stdout, _ = run("vendor", "verify", out, "--json")
    assert rc == 1
    assert "manifest.json" in json.loads(stdout)["missing"]
