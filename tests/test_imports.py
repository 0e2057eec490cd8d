"""What a command imports: ``--version`` and ``--help`` none of the pipelines, and a
lock over a ``file://`` channel no HTTP library (each import is fixed cost on every run).

A fresh interpreter per case (a subprocess): ``sys.modules`` of this one has everything.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conda_vendor_plugin import cli, lock

HEAVY = ("requests", "urllib3", "ruamel", "rattler", "yaml", "conda")
PIPELINES = ("lock", "vendor", "formats", "solve", "spec", "bundle", "download", "repodata")

PROBE = """
import json, sys
from conda_vendor_plugin import cli
try:
    code = cli.main(sys.argv[1:])
except SystemExit as e:
    code = e.code
mods = sorted(m for m in sys.modules if m.split(".")[0] in {heavy!r}
              or m.split(".")[1:2] and m.startswith("conda_vendor_plugin."))
print(json.dumps({{"code": code, "modules": mods}}))
"""


def _imported(*argv: str) -> set[str]:
    code = PROBE.format(heavy=set(HEAVY))
    proc = subprocess.run(
        [sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=60
    )
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["code"] in (0, None), proc.stderr
    return set(out["modules"])


def _heavy(mods: set[str]) -> set[str]:
    return {m for m in mods if m.split(".")[0] in HEAVY}


def _ours(mods: set[str]) -> set[str]:
    return {m.split(".")[1] for m in mods if m.startswith("conda_vendor_plugin.")}


@pytest.mark.parametrize("argv", [["--version"], ["--help"], ["lock", "--help"], ["vendor", "-h"]])
def test_help_and_version_import_no_pipeline(argv: list[str]) -> None:
    mods = _imported(*argv)
    assert not _heavy(mods)
    assert not _ours(mods) & set(PIPELINES)


def test_a_lock_over_a_file_channel_imports_no_http_library(shared_channel, tmp_path: Path) -> None:
    pytest.importorskip("rattler")
    chan = shared_channel("conda-format-repo")
    env = tmp_path / "env.yml"
    env.write_text(f"channels: [{chan.as_uri()}]\ndependencies: [zlib]\n")
    mods = _imported("lock", "-f", str(env), "--platform", "linux-64", "--cache-dir", str(tmp_path))
    assert (tmp_path / "env.lock.yml").is_file()
    assert "rattler" in mods and not {"requests", "urllib3"} & {m.split(".")[0] for m in mods}
    # Writing explicit-1.0 reads no other format (the registry names them and imports a
    # format's module when it is used); a local channel has no shards to fetch.
    unused = {"conda_lock_v1", "pixi_lock"}
    assert not {f"conda_vendor_plugin.formats.{m}" for m in unused} & mods
    assert "conda_vendor_plugin.channel.shards" not in mods


def test_the_parser_offers_the_formats_lock_writes() -> None:
    assert cli.LOCK_FORMATS == lock.FORMATS
