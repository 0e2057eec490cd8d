"""Which files conda gives to the explicit-1.0 reader, with conda-lockfiles loaded too.

Detection by content is tested in-process on small files; the rest runs a real conda
in subprocesses, isolated in tmp_path, against channels built at test time and served
from 127.0.0.1. "As without the plugin" is conda run with this plugin blocked (every
other plugin stays): same status, same output, same packages.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ..support.condarun import (
    conda,
    conda_without_plugin,
    installed,
    lock_env,
    no_traceback,
)
from ..support.vendoring import write_env
from .conftest import HOST

pytestmark = pytest.mark.conda


def test_a_file_with_our_default_name_but_other_content_is_refused_clearly(
    served, env: dict[str, str], tmp_path: Path
) -> None:
    """The cost of claiming a name: conda gives the file to this reader whatever it holds."""
    url = served.url
    other = write_env(tmp_path / "environment.lock.yml", [url], ["data"])
    proc = conda(env, "env", "create", "-f", other, "-p", tmp_path / "E")
    assert proc.returncode != 0
    no_traceback(proc)
    assert "metadata: missing; this is not an explicit-1.0 lockfile" in proc.stderr


# ------------------------------------------------------------------ detection by content

SAMPLE = """\
# a comment
metadata:
  spec: explicit-1.0
  input-hash: 55416d90a16616dae38500edad4426f560c4c6acda8f297cac9bc801d5fee224
explicit-packages:
  linux-64: []
"""


@pytest.mark.parametrize(
    ("text", "claimed"),
    [
        (SAMPLE, True),
        (SAMPLE.replace("spec: explicit-1.0", "spec: 'explicit-1.0'  # quoted"), True),
        (SAMPLE.replace("spec: explicit-1.0", 'spec: "explicit-1.0"'), True),
        # flow style and JSON, and metadata after the packages: parsed (small file)
        ('{"explicit-packages": {}, "metadata": {"spec": "explicit-1.0"}}', True),
        ("explicit-packages: {}\nmetadata: {spec: explicit-1.0}\n", True),
        # saying it elsewhere is not saying it
        (SAMPLE.replace("spec: explicit-1.0", "spec: explicit-2.0"), False),
        ("# spec: explicit-1.0\nname: x\ndependencies: [a]\n", False),
        ("name: x\nvariables:\n  spec: explicit-1.0\ndependencies: [a]\n", False),
        ("metadata:\n  producer:\n    spec: explicit-1.0\n", False),
        ("name: x\ndependencies:\n  - a\n", False),
        ("metadata: [explicit-1.0\n", False),  # broken YAML, no block mapping
        ("\x00\xff explicit-1.0 \x00", False),
    ],
)
def test_content_detection(tmp_path: Path, text: str, claimed: bool) -> None:
    from conda_vendor_plugin.conda_specifier import ExplicitV1Spec, claims_explicit_v1

    path = tmp_path / "some-file"
    path.write_text(text, encoding="latin-1")
    assert claims_explicit_v1(path) is claimed
    assert ExplicitV1Spec(str(path)).can_handle() is claimed


def test_content_detection_reads_a_bounded_prefix_and_never_raises(tmp_path: Path) -> None:
    from conda_vendor_plugin.conda_specifier import PROBE_BYTES, claims_explicit_v1

    big = tmp_path / "big.yml"  # larger than the probe: decided by the block mapping
    big.write_text(SAMPLE + "# padding\n" * (PROBE_BYTES // 10 + 1))
    assert claims_explicit_v1(big)
    late = tmp_path / "late.yml"  # metadata past the probe: not read, not claimed
    late.write_text("# padding\n" * (PROBE_BYTES // 10 + 1) + SAMPLE)
    assert not claims_explicit_v1(late)
    assert not claims_explicit_v1(tmp_path)  # a directory
    assert not claims_explicit_v1(tmp_path / "missing.yml")
    assert not claims_explicit_v1("https://example.invalid/x.lock.yml")
    if hasattr(os, "mkfifo"):  # would block a plain open() for ever
        os.mkfifo(tmp_path / "fifo")
        assert not claims_explicit_v1(tmp_path / "fifo")


# ------------------------------------------------------------------ other files, other readers


def _same_outcome(
    env: dict[str, str], tmp_path: Path, file: Path, *extra: str
) -> subprocess.CompletedProcess[str]:
    """Create from ``file`` with and without this plugin: same status, output, packages."""
    runs = {}
    for label, run in (("with", conda), ("without", conda_without_plugin)):
        prefix = tmp_path / f"E-{label}-{file.name}"
        pkgs = {"CONDA_PKGS_DIRS": str(tmp_path / f"pkgs-{label}-{file.name}")}
        proc = run({**env, **pkgs}, "env", "create", "-f", file, "-p", prefix, *extra)
        out = (proc.stdout + proc.stderr).replace(str(prefix), "<prefix>")
        runs[label] = (proc.returncode, out, installed(env, prefix) if prefix.exists() else None)
    assert runs["with"] == runs["without"]
    return proc


def test_files_that_are_not_explicit_1_0_go_where_they_went_without_the_plugin(
    served, env: dict[str, str], tmp_path: Path
) -> None:
    url = served.url
    plain = write_env(tmp_path / "environment.yml", [url], ["app"])
    assert _same_outcome(env, tmp_path, plain).returncode == 0
    # An environment file named like a lockfile (not the exact default name) is read by
    # content: not ours, so conda's environment.yml reader takes it, as before.
    renamed = tmp_path / "other.lock.yml"
    renamed.write_text(plain.read_text())
    assert _same_outcome(env, tmp_path, renamed).returncode == 0

    # A conda-lock file written by conda-lockfiles' own exporter, under its default name
    # and under one that ends in .lock.yml.
    pytest.importorskip("conda_lockfiles")
    source = tmp_path / "src-env"
    assert conda(env, "create", "-p", source, "-c", url, "app").returncode == 0
    conda_lock = tmp_path / "conda-lock.yml"
    proc = conda(env, "export", "-p", source, "--format", "conda-lock", "-f", conda_lock)
    assert proc.returncode == 0, proc.stderr
    assert _same_outcome(env, tmp_path, conda_lock).returncode == 0
    named = tmp_path / "team.lock.yml"
    named.write_text(conda_lock.read_text())
    assert _same_outcome(env, tmp_path, named).returncode == 0


DETECT = """
import sys
from conda.base.context import context
for path in sys.argv[1:]:
    print(context.plugin_manager.detect_environment_specifier(path).name)
"""


def test_with_conda_lockfiles_each_file_goes_to_its_reader(
    served, env: dict[str, str], tmp_path: Path
) -> None:
    pytest.importorskip("conda_lockfiles")
    url = served.url
    lockfile = lock_env(env, tmp_path, url, ["app"], HOST)
    source = tmp_path / "src-env"
    assert conda(env, "create", "-p", source, "-c", url, "app").returncode == 0
    files = {
        "ours-by-content": lockfile,
        "ours-by-name": tmp_path / "environment.lock.yml",
        "conda-lock": tmp_path / "conda-lock.yml",
        "conda-lock-renamed": tmp_path / "team.lock.yml",
        "pixi": tmp_path / "pixi.lock",
        "explicit": tmp_path / "explicit.txt",
        "environment": write_env(tmp_path / "environment.yml", [url], ["app"]),
    }
    files["ours-by-name"].write_text(lockfile.read_text())
    for fmt, key in (("conda-lock", "conda-lock"), ("pixi", "pixi"), ("explicit", "explicit")):
        proc = conda(env, "export", "-p", source, "--format", fmt, "-f", files[key])
        assert proc.returncode == 0, proc.stderr
    files["conda-lock-renamed"].write_text(files["conda-lock"].read_text())

    proc = subprocess.run(
        [sys.executable, "-c", DETECT, *map(str, files.values())],
        capture_output=True,
        text=True,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    assert dict(zip(files, proc.stdout.split())) == {
        "ours-by-content": "explicit-1.0",
        "ours-by-name": "explicit-1.0",
        "conda-lock": "conda-lock-v1",
        "conda-lock-renamed": "conda-lock-v1",
        "pixi": "rattler-lock-v6",
        "explicit": "explicit",
        "environment": "cep-24",
    }
    for fmt in ("conda-lock", "pixi", "explicit-1.0", "explicit", "environment-yaml"):
        proc = conda(env, "export", "-p", source, "--format", fmt)
        assert proc.returncode == 0, f"{fmt}: {proc.stderr}"
    for command in (("export", "--help"), ("create", "--help"), ("env", "create", "--help")):
        proc = conda(env, *command)
        assert proc.returncode == 0, proc.stderr
        assert "explicit-1.0" in proc.stdout and "conda-lock-v1" in proc.stdout
