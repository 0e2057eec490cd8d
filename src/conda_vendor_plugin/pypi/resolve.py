"""Resolve a ``pip:`` section for one target platform with pip's own resolver.

pip runs as ``python -S -m pip install --dry-run --report -`` with the target's
``--platform`` tags, ``--python-version``, ``--implementation cp``, ``--abi`` and
``--only-binary=:all:`` (see :mod:`.target`), the section's index options, and pip's own
configuration (``pip.conf``, ``PIP_*`` variables) as pip reads it. Environment markers
are evaluated for the target too (pip has no option for that: see
:data:`_WITH_TARGET_MARKERS`). Its report (the JSON pip documents for ``--report``)
becomes :class:`~.records.Wheel` records.

What the conda solve already provides is not resolved again: pip runs without the
machine's ``site-packages`` (``-S``) and sees, as installed, one ``.dist-info`` per conda
package that is a Python package (it depends on ``python``), under its PEP 503 normalized
name and its conda version. A requirement those satisfy is left to conda, as conda and
pixi do; one that needs another version is refused, naming both.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..errors import PypiError
from ..records import LockedPackage, Solution
from ..transport.urls import redact_text, redact_url
from .records import Wheel, normalize, wheel_problem
from .requirements import PipSection
from .target import Target, target_for

_NO_MATCH = re.compile(r"No matching distribution found for (\S+)")


class NoWheel(PypiError):
    """A project the resolution needs has no wheel for the target (only an sdist, or
    nothing) on the index: the one refusal ``--ignore-pip-non-wheel`` may turn into a
    skipped requirement."""

    def __init__(self, message: str, project: str, where: str) -> None:
        super().__init__(message)
        self.project = project
        self.where = where


_NETWORK = ("NewConnectionError", "Max retries exceeded", "Could not fetch URL")


def provided(packages: Iterable[LockedPackage]) -> dict[str, str]:
    """PEP 503 name -> version of the conda packages that are Python packages (they
    depend on ``python``): the names pip must not resolve again."""
    found = {}
    for p in packages:
        if p.name != "python" and any(d.split()[0] == "python" for d in p.depends if d):
            found[normalize(p.name)] = p.version
    return found


def _installed_view(root: Path, names: Mapping[str, str]) -> Path:
    """A directory where pip finds itself and sees ``names`` as installed distributions."""
    spec = importlib.util.find_spec("pip")
    if spec is None or not spec.submodule_search_locations:
        raise PypiError("pip is needed to resolve the pip: section; install pip into this Python")
    view = root / "site"
    view.mkdir()
    pip_dir = Path(next(iter(spec.submodule_search_locations)))
    try:
        (view / "pip").symlink_to(pip_dir, target_is_directory=True)
    except OSError:  # no symbolic links here (Windows without the privilege): a copy
        shutil.copytree(pip_dir, view / "pip")
    for name, version in names.items():
        info = view / f"{name.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        meta = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
        (info / "METADATA").write_text(meta, encoding="utf-8")
        (info / "INSTALLER").write_text("conda\n", encoding="utf-8")
    return view


# pip evaluates environment markers (``; sys_platform == "win32"``) against the running
# interpreter and has no option for a target's; this runs pip with packaging's marker
# environment (the one ``Marker.evaluate`` reads) replaced by the target's (argv[1]).
_WITH_TARGET_MARKERS = (
    "import json, runpy, sys\n"
    "from pip._vendor.packaging import markers\n"
    "target = json.loads(sys.argv.pop(1))\n"
    "markers.default_environment = lambda: dict(target)\n"
    "sys.argv[0] = 'pip'\n"
    "runpy.run_module('pip', run_name='__main__', alter_sys=True)\n"
)


def pip_command(section: PipSection, target: Target, report: str = "-") -> list[str]:
    """The pip command line that resolves ``section`` for ``target`` (its tags, Python
    and environment markers)."""
    return [
        sys.executable,
        "-S",
        "-c",
        _WITH_TARGET_MARKERS,
        json.dumps(target.markers()),
        "install",
        "--dry-run",
        "--quiet",
        "--no-input",
        "--disable-pip-version-check",
        f"--report={report}",
        *target.pip_arguments(),
        *section.pip_arguments(),
        "--",
        *section.requirements,
    ]


def _failure(stderr: str, target: Target, source: str) -> PypiError:
    """One line from pip's error output: the project without a wheel, the network, or
    pip's own last error line; credentials removed."""
    where = f"{target.platform} (CPython {target.python_version})"
    m = _NO_MATCH.search(stderr)
    if any(marker in stderr for marker in _NETWORK):
        lines = [ln for ln in stderr.splitlines() if any(m in ln for m in _NETWORK)]
        return PypiError(
            f"{source}: pip: network failure reaching the package index for {where}: "
            f"{redact_text(lines[-1].strip())[:300]}"
        )
    if m:
        return NoWheel(
            f"{source}: pip: {m.group(1)} has no wheel for {where} on the index (a project "
            "with only source distributions cannot be vendored; build a wheel and publish "
            "it to an index or a --find-links location, or leave it out with "
            "--ignore-pip-non-wheel)",
            m.group(1),
            where,
        )
    errors = [ln for ln in stderr.splitlines() if ln.startswith("ERROR:")] or stderr.splitlines()
    last = errors[-1].removeprefix("ERROR:").strip() if errors else "pip failed"
    return PypiError(f"{source}: pip: cannot resolve for {where}: {redact_text(last)[:300]}")


def _wheel(item: Mapping[str, Any], where: str, source: str) -> Wheel:
    meta, info = item.get("metadata") or {}, item.get("download_info") or {}
    name, version = str(meta.get("name", "")), str(meta.get("version", ""))
    sha256 = ((info.get("archive_info") or {}).get("hashes") or {}).get("sha256")
    if not sha256:
        raise PypiError(
            f"{source}: pip: {name} {version} for {where}: the index gives no sha256 for "
            "its wheel, so it cannot be locked and verified"
        )
    wheel = Wheel(
        name=name,
        version=version,
        url=redact_url(str(info.get("url", ""))),
        sha256=str(sha256),
        requires_python=meta.get("requires_python") or None,
    )
    problem = wheel_problem(wheel)
    if problem:
        raise PypiError(f"{source}: pip: {name} for {where}: {problem}")
    return wheel


def wheels_from_report(
    report: Mapping[str, Any], target: Target, conda: Mapping[str, str], source: str
) -> tuple[Wheel, ...]:
    """The wheels of pip's ``--report`` document, sorted by name; a project the conda
    solve provides in another version is refused."""
    where = f"{target.platform} (CPython {target.python_version})"
    wheels = []
    for item in report.get("install") or ():
        wheel = _wheel(item, where, source)
        key = normalize(wheel.name)
        if key in conda:
            raise PypiError(
                f"{source}: pip: {where}: the pip requirements need {wheel.name} "
                f"{wheel.version}, but the conda solve provides {conda[key]}; pin a "
                "compatible version in dependencies or in the pip: section"
            )
        wheels.append(wheel)
    return tuple(sorted(wheels, key=lambda w: normalize(w.name)))


def resolve(
    section: PipSection, target: Target, conda: Mapping[str, str], source: str
) -> tuple[Wheel, ...]:
    """The wheels ``section`` needs on ``target`` beside the conda packages ``conda``."""
    if not section.requirements:
        return ()
    with tempfile.TemporaryDirectory(prefix="cvp-pip-") as tmp:
        view = _installed_view(Path(tmp), conda)
        env = {**os.environ, "PYTHONPATH": str(view), "PIP_REQUIRE_VIRTUALENV": "0"}
        env.pop("PYTHONHOME", None)
        proc = subprocess.run(
            pip_command(section, target),
            env=env,
            cwd=tmp,
            capture_output=True,
            text=True,
            check=False,
        )
    if proc.returncode != 0:
        raise _failure(proc.stderr, target, source)
    try:
        report = json.loads(proc.stdout)
    except ValueError:
        raise PypiError(f"{source}: pip: its --report output is not JSON") from None
    return wheels_from_report(report, target, conda, source)


Skipped = tuple[tuple[str, str], ...]  # (requirement, why) left out for one platform


def resolve_solutions(
    section: PipSection,
    solutions: Iterable[Solution],
    source: str,
    step: Callable[[str], AbstractContextManager[Any]] = lambda platform: nullcontext(),
    skip: bool = False,
) -> tuple[dict[str, tuple[Wheel, ...]], dict[str, Skipped]]:
    """Platform -> wheels: ``section`` resolved for each conda solution's platform,
    against the Python that solution holds; ``step(platform)`` wraps each resolution.
    With ``skip`` (``--ignore-pip-non-wheel``), a requirement that needs a project with
    no wheel for a platform is left out there: platform -> (requirement, why) as well."""
    found: dict[str, tuple[Wheel, ...]] = {}
    left_out: dict[str, Skipped] = {}
    for solution in solutions:
        with step(solution.platform):
            target = target_for(solution.platform, solution.packages, source)
            conda = provided(solution.packages)
            if skip:
                found[solution.platform], missed = _resolve_skipping(section, target, conda, source)
                left_out[solution.platform] = section.skipped + missed
            else:
                found[solution.platform] = resolve(section, target, conda, source)
    return found, left_out


def _resolve_skipping(
    section: PipSection, target: Target, conda: Mapping[str, str], source: str
) -> tuple[tuple[Wheel, ...], Skipped]:
    """``section`` resolved for ``target`` without the requirements that need a project
    with no wheel there (found by resolving each requirement alone, only when the whole
    section fails for that reason)."""
    try:
        return resolve(section, target, conda, source), ()
    except NoWheel:
        pass
    missed = []
    for requirement in section.requirements:
        try:
            resolve(replace(section, requirements=(requirement,)), target, conda, source)
        except NoWheel as e:
            missed.append((requirement, f"needs {e.project}, which has no wheel for {e.where}"))
    out = {r for r, _ in missed}
    rest = replace(section, requirements=tuple(r for r in section.requirements if r not in out))
    return resolve(rest, target, conda, source), tuple(missed)
