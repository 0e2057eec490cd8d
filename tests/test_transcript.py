"""docs/commands.md's transcript, re-run as written: every ``$`` line is run (inside a real
conda where one is importable, and always standalone with ``python -m
conda_vendor_plugin``), each line shown after it must appear in its output in that order,
and ``[exit N]`` is its exit status."""

from __future__ import annotations

import importlib.util
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest

from .support.condarun import conda_environ
from .support.locking import run_module

DOC = Path(__file__).resolve().parents[1] / "docs" / "commands.md"
MODES = ["standalone", "conda"] if importlib.util.find_spec("conda") else ["standalone"]
STANDALONE = {
    "conda env lock": "python -m conda_vendor_plugin lock",
    "conda vendor": "python -m conda_vendor_plugin vendor",
}


@dataclass(frozen=True)
class Step:
    command: str
    expected: tuple[str, ...]
    exit: int


def transcript() -> list[Step]:
    text = DOC.read_text()
    block = text.split("## Transcript", 1)[1].split("```console\n", 1)[1].split("```", 1)[0]
    steps: list[Step] = []
    for chunk in block.split("$ ")[1:]:
        command, *lines = chunk.strip().splitlines()
        *expected, status = lines
        code = re.fullmatch(r"\[exit (\d+)\]", status)
        assert code, f"{command}: no [exit N] line"
        steps.append(Step(command, tuple(expected), int(code.group(1))))
    return steps


def _standalone(text: str) -> str:
    for conda_form, standalone in STANDALONE.items():
        text = text.replace(conda_form, standalone)
    return text


def _words(text: str) -> str:
    return " ".join(text.split())


def test_the_transcript_has_the_examples_of_the_flag_changes() -> None:
    commands = [s.command for s in transcript()]
    assert "conda vendor verfiy OUT" in commands
    assert "conda env lock -p linux-64" in commands
    assert len(commands) >= 7


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("step", transcript(), ids=lambda s: s.command)
def test_the_transcript_runs_as_written(tmp_path: Path, mode: str, step: Step) -> None:
    (tmp_path / "environment.yml").write_text(
        "name: demo\nchannels: ['https://conda.example.invalid/ch']\ndependencies: [a]\n"
    )
    environ = conda_environ(tmp_path)
    command = step.command if mode == "conda" else _standalone(step.command)
    expected = step.expected if mode == "conda" else tuple(map(_standalone, step.expected))
    argv = shlex.split(command)
    module = "conda" if argv[0] == "conda" else argv[2]
    rest = argv[1:] if argv[0] == "conda" else argv[3:]
    proc = run_module(module, *rest, env=environ, cwd=tmp_path)
    output = _words(proc.stdout + "\n" + proc.stderr)
    assert proc.returncode == step.exit, output
    assert "Traceback" not in output
    at = 0
    for line in expected:
        found = output.find(_words(line), at)
        assert found >= 0, f"{line!r} not in order in: {output}"
        at = found + len(_words(line))
