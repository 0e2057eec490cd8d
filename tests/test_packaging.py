"""Packaging: pyproject.toml, recipe/recipe.yaml and ``__version__`` tell one story.

The recipe is rendered with py-rattler-build (the engine behind conda-forge's v1 recipes),
offline: rendering evaluates the recipe for its variant and solves or fetches nothing. A build
would need python and pip from a channel CI cannot reach, so what is checked here is what a
build would be given.
"""

from __future__ import annotations

import importlib.metadata as md
import re
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest

import conda_vendor_plugin

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "recipe" / "recipe.yaml"

# plugin.py's environment specifier declares environment_format=EnvironmentFormat.lockfile;
# EnvironmentFormat first shipped in conda 26.3.0 (conda commit da75911f0, conda#15763),
# but `conda env create` calls a specifier's env_for, which installs the locked records,
# only from 26.5.0 (b69acce7b, conda#15928). Exporters are older: 25.9.0.
CONDA_MIN = "26.5.0"

# What the conda package's own test runs once installed.
TEST_COMMANDS = {
    "conda vendor --help",
    "conda env lock --help",
    "python -m conda_vendor_plugin --help",
}


@cache
def pyproject() -> dict[str, Any]:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)


def python_min() -> str:
    """``3.10`` from ``requires-python = ">=3.10"``."""
    requires = pyproject()["project"]["requires-python"]
    m = re.fullmatch(r">=\s*(\d+\.\d+)", requires)
    assert m, f"requires-python {requires!r} is not a plain lower bound"
    return m.group(1)


# conda-forge names of PyPI distributions that differ
CONDA_NAMES = {"msgpack": "msgpack-python"}


def spec(text: str) -> tuple[str, tuple[str, ...]]:
    """A PEP 508 or conda requirement as (conda name, clauses), clause order and spaces
    ignored: ``requests>=2.28,<3`` and ``requests <3,>=2.28`` are equal. No markers."""
    m = re.fullmatch(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(.*?)\s*", text)
    assert m, f"cannot read requirement {text!r}"
    name, rest = m.groups()
    clauses = tuple(sorted(c.replace(" ", "") for c in rest.split(",") if c.strip()))
    return CONDA_NAMES.get(name.lower(), name.lower()), clauses


def split_marker(requirement: str) -> tuple[str, str | None]:
    req, _, marker = requirement.partition(";")
    return req.strip(), marker.strip() or None


def by_name(specs: list[str]) -> dict[str, tuple[str, ...]]:
    out = dict(spec(s) for s in specs)
    assert len(out) == len(specs), f"a package is listed twice in {specs}"
    return out


# pyproject.toml and the installed metadata


def test_version_has_one_source() -> None:
    project = pyproject()["project"]
    assert "version" not in project
    assert "version" in project["dynamic"]
    assert pyproject()["tool"]["setuptools"]["dynamic"]["version"] == {
        "attr": "conda_vendor_plugin.__version__"
    }
    # What pip recorded when it installed this tree (scripts/_venv.sh reinstalls when
    # pyproject.toml or __init__.py change).
    assert md.version("conda-vendor-plugin") == conda_vendor_plugin.__version__


def test_license_and_python_metadata() -> None:
    project = pyproject()["project"]
    assert project["license"] == "BSD-3-Clause"
    assert project["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("BSD 3-Clause License\n")
    assert "Copyright (c) 2026, conda-vendor-plugin contributors" in text

    meta = md.metadata("conda-vendor-plugin")
    assert meta["License-Expression"] == "BSD-3-Clause"
    assert meta.get_all("License-File") == ["LICENSE"]
    assert meta["Requires-Python"] == project["requires-python"]
    assert sys.version_info[:2] >= tuple(map(int, python_min().split(".")))


def test_conda_finds_the_plugin_through_its_entry_point() -> None:
    (ep,) = md.entry_points(group="conda", name="conda-vendor-plugin")
    assert ep.value == "conda_vendor_plugin.plugin"
    assert ep.dist is not None and ep.dist.name == "conda-vendor-plugin"


def test_ci_runs_the_oldest_supported_python() -> None:
    text = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    m = re.search(r"^PYTHONS=\"([\d. ]+)\"", text, re.MULTILINE)
    assert m, ".ci/run names no PYTHONS"
    versions = m.group(1).split()
    assert versions[0] == python_min()
    assert len(versions) >= 2


# recipe/recipe.yaml, rendered


@pytest.fixture(scope="module")
def recipe() -> dict[str, Any]:
    # In the test extra, so CI has it; skipped only where it cannot be imported at all.
    rattler_build = pytest.importorskip("rattler_build", exc_type=ImportError)
    variants = rattler_build.Stage0Recipe.from_file(RECIPE).render()
    assert len(variants) == 1, "a noarch: python recipe renders once"
    assert variants[0].variant.get("target_platform") == "noarch"
    return variants[0].recipe.to_dict()


def test_recipe_package_is_this_project(recipe: dict[str, Any]) -> None:
    assert recipe["package"] == {
        "name": pyproject()["project"]["name"],
        "version": conda_vendor_plugin.__version__,
    }
    build = recipe["build"]
    assert build["noarch"] == "python"
    assert build["number"] == 0
    assert re.fullmatch(
        r"\$\{\{ PYTHON \}\} -m pip install \. --no-deps --no-build-isolation -vv",
        build["script"],
    )
    scripts = pyproject()["project"]["scripts"]
    assert build["python"]["entry_points"] == [f"{k} = {v}" for k, v in scripts.items()]


def test_recipe_python_min_is_requires_python(recipe: dict[str, Any]) -> None:
    low = python_min()
    assert recipe["context"]["python_min"] == low
    req = recipe["requirements"]
    assert f"python {low}.*" in req["host"]
    assert f"python >={low}" in req["run"]
    python_test = next(t["python"] for t in recipe["tests"] if "python" in t)
    assert f"{low}.*" in python_test["python_version"]
    for t in recipe["tests"]:
        if "script" in t:
            assert f"python {low}.*" in t["requirements"]["run"]


def test_recipe_build_backend_is_pyprojects(recipe: dict[str, Any]) -> None:
    host = by_name(recipe["requirements"]["host"])
    (setuptools,) = (r for r in pyproject()["build-system"]["requires"] if "setuptools" in r)
    assert host["setuptools"] == spec(setuptools)[1]
    assert "pip" in host


def test_recipe_run_requirements_are_pyprojects(recipe: dict[str, Any]) -> None:
    req = recipe["requirements"]
    run = by_name(req["run"])
    constraints = by_name(req.get("run_constraints", []))
    assert run.pop("conda") == (f">={CONDA_MIN}",)
    assert run.pop("python") == (f">={python_min()}",)

    project = pyproject()["project"]
    unconditional, conditional = {}, {}
    for requirement in project["dependencies"]:
        req_text, marker = split_marker(requirement)
        name, clauses = spec(req_text)
        (conditional if marker else unconditional)[name] = clauses
    # Same packages, same ranges; nothing the wheel does not ask for.
    assert run == unconditional
    # A noarch package cannot depend on something for some Pythons only: constrained instead.
    for name, clauses in conditional.items():
        assert constraints.get(name) == clauses, name
    for extra in project["optional-dependencies"]["rattler"]:
        name, clauses = spec(extra)
        assert constraints.get(name) == clauses, name


def test_recipe_tests_the_installed_commands(recipe: dict[str, Any]) -> None:
    python_test = next(t["python"] for t in recipe["tests"] if "python" in t)
    assert python_test.get("pip_check", True) is True
    assert {"conda_vendor_plugin", "conda_vendor_plugin.plugin"} <= set(python_test["imports"])
    commands: set[str] = set()
    for t in recipe["tests"]:
        script = t.get("script", [])
        commands.update([script] if isinstance(script, str) else script)
    assert commands >= TEST_COMMANDS


def test_recipe_license_is_pyprojects(recipe: dict[str, Any]) -> None:
    about = recipe["about"]
    project = pyproject()["project"]
    assert about["license"] == project["license"] == "BSD-3-Clause"
    assert about["license_file"] == project["license-files"]
    (source,) = recipe["source"]
    source_dir = (RECIPE.parent / source["path"]).resolve()
    assert source_dir == ROOT
    for name in about["license_file"]:
        assert (source_dir / name).is_file(), name
