"""The files beside the local channels: environment files, explicit files, manifest
(the SBOM has a room of its own: :mod:`.sbom`)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from .. import __version__
from ..formats import cep23
from ..fsutil import sha256_file, walk_files
from ..integrity import Expected
from ..pypi.install import pip_lines, projects
from ..pypi.records import Wheel
from ..pypi.simple_index import ROOT as PYPI_ROOT
from ..records import LockedPackage, Lockfile, Solution
from ..spec import EnvironmentSpec
from ..transport.urls import redact_url
from ..yamlfile import yaml_scalar
from .history import CURRENT, VERSIONS, Index, version_dir
from .plan import VendoredPackage
from .sbom import purl, wheel_purl

MANIFEST = "manifest.json"
DELTA = "delta.json"  # what marks a delta bundle (:mod:`.delta`)
LOCKFILE = "environment.lock.yml"
TOOL = "conda-vendor-plugin"


def env_file_name(platform: str) -> str:
    return f"environment-{platform}.yml"


def explicit_file_name(platform: str) -> str:
    return f"{platform}.explicit.txt"


def env_file_text(
    spec: EnvironmentSpec,
    solution: Solution,
    locals_in_order: Sequence[str],
    where: str,
    wheels: Sequence[Wheel] = (),
) -> str:
    """An environment file pinning every locked package, channels = the local channels
    (paths relative to the bundle's root; ``where`` is this file's folder there, the
    version's own: its id is settled by :func:`.assemble.retarget` once merged), and a
    ``pip:`` part installing exactly the locked ``wheels`` from the bundle (see
    :func:`wheel_lines`).

    No ``nodefaults``: conda 26.7 hands it to the solver as a channel, and
    conda-rattler-solver then fails offline on its uncached repodata. The header gives
    the command that ignores configured channels with every solver."""
    channels = " ".join(f"-c ./{name}" for name in locals_in_order)
    path = f"{where}/{env_file_name(solution.platform)}"
    lines = [
        f"# Written by {TOOL} {__version__} for {solution.platform}. Install offline from the",
        "# bundle's root directory (the one holding bundle.json; channel paths are relative",
        "# to it):",
        f"#   conda env create -n <name> --offline -f {path}",
        "# or, ignoring any channels configured in .condarc (needed with the rattler solver",
        "# when .condarc lists channels):",
        f"#   conda create -n <name> --offline --override-channels {channels} \\",
        f"#     --file {path}",
    ]
    if wheels:
        lines += wheels_header(where)
    if spec.name:
        lines.append(f"name: {yaml_scalar(spec.name)}")
    lines.append("channels:")
    lines += [f"  - ./{name}" for name in locals_in_order]
    lines.append("dependencies:")
    lines += [f"  - {yaml_scalar(f'{p.name}=={p.version}={p.build}')}" for p in solution.packages]
    if wheels:
        lines.append("  - pip:")
        lines += [f"    - {yaml_scalar(line)}" for line in wheel_lines(wheels)]
    if spec.variables:
        lines.append("variables:")
        lines += [f"  {yaml_scalar(k)}: {yaml_scalar(v)}" for k, v in spec.variables]
    return "\n".join(lines) + "\n"


def wheel_lines(wheels: Sequence[Wheel]) -> list[str]:
    """The ``pip:`` lines of a version's environment file: the bundle's index folders as
    ``file:`` URLs relative to the version's own folder. conda runs pip in the folder of
    the environment file; pip resolves a relative ``file:`` URL from its working folder,
    the real one (through the ``current`` link: ``envs/<env>/versions/<id>``), so the
    lines hold through the link and from the version's folder itself."""
    up = "../" * len(version_dir("<env>", "<id>").split("/"))
    return pip_lines(wheels, (f"file:{up}{PYPI_ROOT}/{p}" for p in projects(wheels)))


def wheels_header(where: str) -> list[str]:
    """The header lines of an environment file with a ``pip:`` part (``where``: the
    version's folder in the bundle, ``envs/<env>/versions/<id>``)."""
    current = f"{where.split('/' + VERSIONS + '/')[0]}/{CURRENT}"
    return [
        f"# The pip: part then installs exactly the locked wheels from the bundle's {PYPI_ROOT}/",
        "# (no index; pip checks every sha256). Its paths are relative to this file's folder:",
        f"# give it as above, or as {current}/ where that is a link to it.",
    ]


def explicit_file_text(
    lock: Lockfile, platform: str, vendored: Sequence[VendoredPackage], where: str
) -> str:
    """CEP 23 ``@EXPLICIT`` text for ``platform`` whose entries are the bundle's own
    archives, as paths relative to the bundle (``./local_x/<subdir>/<file>``): conda
    installs them with no solve and no network when run from the bundle's root
    (``where`` is this file's folder there)."""
    in_bundle = {vp.package: f"./{vp.relpath}" for vp in vendored}
    local = replace(
        lock,
        packages={platform: tuple(replace(p, url=in_bundle[p]) for p in lock.packages[platform])},
    )
    n = len(lock.pypi.get(platform, ()))
    no_wheels = (
        f"the {n} wheel{'s' * (n != 1)} locked for {platform} (a CEP 23 file cannot hold "
        f"wheels); {env_file_name(platform)} in this folder installs them too (its pip: "
        f"part), as do the lockfile with this plugin and vendor install"
    )
    return cep23.write(local, platform, explicit_install(where, platform), no_wheels)


def explicit_install(where: str, platform: str) -> str:
    """The command that installs the explicit file for ``platform`` in folder ``where``
    of a bundle: plain conda, no solve, no network."""
    hint = "cd <the bundle's root> && conda create -n <name> --offline --file"
    return f"{hint} {where}/{explicit_file_name(platform)}"


def manifest_text(
    root: Path,
    index: Index,
    archives: Mapping[str, tuple[LockedPackage, Any]],
    extra: Mapping[str, Any] | None = None,
    wheels: Mapping[str, tuple[Wheel, Any]] | None = None,
) -> str:
    """Every file in the output (but the manifest itself): path, size, sha256, and for
    archives and wheels their origin and purl; links (the ``current`` pointers) with
    their target; the environments with their current version and what was not vendored."""
    files = []
    for rel, is_link in walk_files(root):
        path = root / rel
        if rel == MANIFEST:
            continue
        if is_link:
            files.append({"path": rel, "link": os.readlink(path)})
            continue
        found = archives.get(rel)
        item: dict[str, Any] = {"path": rel, "size": path.stat().st_size}
        wheel = (wheels or {}).get(rel)
        if wheel is not None:
            w = wheel[0]
            item.update(sha256=w.sha256, url=redact_url(w.url), purl=wheel_purl(w))
            files.append({**item, "verified_by": "sha256"})
            continue
        package = found[0] if found is not None else None
        item["sha256"] = (package.sha256 if package else None) or sha256_file(path)
        if package is not None:
            item["url"] = redact_url(package.url)
            item["purl"] = purl(VendoredPackage(package, rel.split("/", 1)[0]))
            item["verified_by"] = Expected(None, package.sha256, package.md5).verified_by
        files.append(item)
    environments = {}
    for name, env in index.environments.items():
        v = env.version(env.current)
        environments[name] = {
            "current": v.id,
            "versions": [x.id for x in env.versions],
            "input_hash": v.input_hash,
            "platforms": list(v.platforms),
            "not_vendored": [dict(f) for f in v.not_vendored],
            "pip_not_vendored": list(v.pip_not_vendored),
        }
    doc = {
        "tool": {"name": TOOL, "version": __version__},
        "channels": dict(sorted(index.channels.items())),
        "environments": environments,
        "files": files,
        **(extra or {}),
    }
    return json.dumps(doc, indent=1, sort_keys=True) + "\n"
