"""A bundle command killed between any two steps of the bundle transaction loses
nothing: the bundle is the previous one (or, between the two renames of the swap, the
previous one set aside as ``.OUT.old``), and the next run repairs it and finishes.

Each command (``vendor`` into a bundle, ``vendor apply``, ``vendor prune``) runs for
real in a subprocess that kills itself (SIGKILL, no clean-up) at a named step, through
the transaction's internal test-only variable; then the same command runs again and
must give, byte for byte, the bundle an uninterrupted run gives. Real archives, a real
loopback channel server.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from conda_vendor_plugin.bundle.transaction import STEPS, STOP_AT

from ..bundle.test_teams import PKGS  # two environments, an update, a delta
from ..support.build import build_channel
from ..support.server import ChannelServer
from ..support.vendoring import snapshot, write_env

pytest.importorskip("rattler")


def _vendor(run, *args: object) -> None:
    rc, stdout, err = run("vendor", *args, "--platform", "linux-64", "--json")
    assert rc == 0, stdout + err


@pytest.fixture
def setup(http_server: ChannelServer, tmp_path: Path, run, monkeypatch: pytest.MonkeyPatch):
    """BASE (analysis with app 1.0, tools), an update of analysis to app 2.0, a delta
    of that update against BASE, and TWO (BASE with the update: analysis has two
    versions)."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")  # one SBOM time for every run
    build_channel(tmp_path / "served" / "chan", PKGS, subdirs=("linux-64",))
    url = f"{http_server.url}/chan"
    for d in ("a", "b", "new"):
        (tmp_path / d).mkdir()
    base = tmp_path / "BASE"
    analysis = write_env(tmp_path / "a" / "analysis.yml", [url], ["app 1.0.*"], name="analysis")
    tools = write_env(tmp_path / "b" / "tools.yml", [url], ["tool"], name="tools")
    _vendor(run, analysis, tools, "-o", base)
    update = write_env(tmp_path / "new" / "analysis.yml", [url], ["app 2.0.*"], name="analysis")
    _vendor(run, update, "-o", tmp_path / "DELTA", "--since", base)
    two = tmp_path / "TWO"
    shutil.copytree(base, two, symlinks=True)
    _vendor(run, update, "-o", two)
    return {"BASE": base, "TWO": two, "update": update, "delta": tmp_path / "DELTA"}


COMMANDS: dict[str, tuple[str, Callable[[dict, Path], list[object]]]] = {
    "vendor": ("BASE", lambda s, out: ["vendor", s["update"], "-o", out, "--platform", "linux-64"]),
    "apply": ("BASE", lambda s, out: ["vendor", "apply", s["delta"], "--to", out]),
    "prune": ("TWO", lambda s, out: ["vendor", "prune", out, "--keep", "1"]),
}


def _killed_at(step: str, argv: list[object]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, STOP_AT: step, "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"}
    cmd = [sys.executable, "-m", "conda_vendor_plugin", *map(str, argv)]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)


def _beside(out: Path, what: str) -> Path:
    return out.parent / f".{out.name}.{what}"


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_run_killed_at_any_step_loses_nothing_and_the_next_run_finishes(
    command: str, setup: dict, tmp_path: Path, run
) -> None:
    start, argv = COMMANDS[command]
    before = snapshot(setup[start])
    reference = tmp_path / "REF"  # what an uninterrupted run gives
    shutil.copytree(setup[start], reference, symlinks=True)
    rc, _, err = run(*argv(setup, reference))
    assert rc == 0, err
    expected = snapshot(reference)
    assert expected != before

    for step in STEPS:
        out = tmp_path / f"OUT-{step}"
        shutil.copytree(setup[start], out, symlinks=True)
        proc = _killed_at(step, argv(setup, out))
        assert proc.returncode == -signal.SIGKILL, (step, proc.stderr)
        old = _beside(out, "old")
        if step == "moved-old":  # between the two renames: OUT is gone, the old copy whole
            assert not out.exists() and snapshot(old) == before, step
        elif step == "swapped":  # the new bundle is in place, the old copy not yet removed
            assert snapshot(out) == expected and snapshot(old) == before, step
        else:
            assert snapshot(out) == before, step

        rc, _, err = run(*argv(setup, out))
        assert rc == 0, (step, err)
        assert snapshot(out) == expected, step
        assert not old.exists() and not _beside(out, "staging").exists(), step
        rc, stdout, _ = run("vendor", "verify", out, "--json")
        assert rc == 0 and json.loads(stdout)["problems"] == 0, (step, stdout)


def test_every_command_verifies_the_staged_bundle_before_the_swap(
    setup: dict, tmp_path: Path, run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bundle that would not verify is never swapped in: here an archive the command
    carries over from the bundle unchanged has one byte flipped (a carried archive's size
    is checked, its bytes only by this verification); vendor, apply and prune alike
    refuse, OUT left as it was."""
    for command, (start, argv) in sorted(COMMANDS.items()):
        out = tmp_path / f"DAMAGED-{command}"
        shutil.copytree(setup[start], out, symlinks=True)
        tool = out / "local_chan" / "noarch" / "tool-0.1-0.conda"
        damaged = bytearray(tool.read_bytes())
        damaged[40] ^= 0xFF
        tool.write_bytes(bytes(damaged))
        before = snapshot(out)
        rc, stdout, _ = run(*argv(setup, out), "--json")
        assert rc == 1, (command, stdout)
        doc = json.loads(stdout)
        assert doc["error_type"] == "StagedBundleInvalid", (command, doc)
        assert "the bundle this run built does not verify" in doc["error"], command
        assert "tool-0.1-0.conda: sha256" in doc["error"], (command, doc)
        assert f"{out} was left as it was" in doc["error"], command
        assert snapshot(out) == before, command
