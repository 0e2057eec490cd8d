"""Environments in a bundle and their versions: the index, the version directories and
the ``current`` pointers.

::

    OUT/bundle.json                                  the index: environments, versions, channels
    OUT/envs/<name>/versions/<n>-<hash12>/           one locked version's files
    OUT/envs/<name>/current -> versions/<n>-<hash12> a symbolic link, where the filesystem has them
    OUT/envs/<name>/current.txt                      the same pointer as text (FAT media, Windows)

A name is ``<env>`` or ``<namespace>/<env>`` (as conda-store names environments; a
namespace is a folder). A version is numbered in the order it came and named with the
first 12 hex digits of its input hash; an environment's input hash that changes makes
a new version, the same input hash replaces the current one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .. import __version__
from ..errors import UsageError, VendorError, quoted
from ..fsutil import UnsafePath, atomic_write_text, contained, is_plain_dir, read_json_file

ENVS = "envs"
INDEX = "bundle.json"
VERSIONS = "versions"
CURRENT = "current"
POINTER = "current.txt"
INDEX_FORMAT = 1
MAX_INDEX_BYTES = 64 << 20

_SEGMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,99}\Z")
_VERSION = re.compile(r"([1-9][0-9]{0,8})-([0-9a-f]{12})\Z")
_HEX = re.compile(r"[0-9a-f]{12,}\Z")


class BundleError(VendorError):
    """A bundle's index or layout is not what this tool writes, or a locked package
    cannot be installed from the bundle its lockfile sits in."""


def env_name_problem(name: object) -> str | None:
    """Why ``name`` cannot name an environment in a bundle, or None. One or two
    ``/``-separated segments of letters, digits and ``._+-``, each starting with a
    letter or digit (so never ``.``, ``..`` or a hidden name)."""
    if not isinstance(name, str):
        return "is not a string"
    parts = name.split("/")
    if len(parts) > 2:
        return "has more than one '/' (use <namespace>/<env>)"
    if not all(_SEGMENT.match(p) for p in parts):
        return (
            "must be letters, digits and ._+- (starting with a letter or digit), at most 100 each"
        )
    return None


def check_env_name(name: str, origin: str) -> str:
    problem = env_name_problem(name)
    if problem is not None:
        raise UsageError(
            f"{origin}: environment name {quoted(name)} {problem}; set 'name:' in the file "
            f"or rename it"
        )
    return name


def version_id(number: int, input_hash: str) -> str:
    return f"{number}-{input_hash[:12]}"


def env_dir(name: str) -> str:
    return f"{ENVS}/{name}"


def version_dir(name: str, vid: str) -> str:
    return f"{ENVS}/{name}/{VERSIONS}/{vid}"


@dataclass(frozen=True)
class Version:
    id: str
    input_hash: str
    platforms: tuple[str, ...]
    not_vendored: tuple[Mapping[str, str], ...] = ()  # locked packages that are not conda's
    pip_not_vendored: tuple[str, ...] = ()  # older bundles: pip: entries not vendored
    archives: tuple[str, ...] = ()  # every archive it installs, as a path in the bundle

    @property
    def number(self) -> int:
        return int(self.id.split("-", 1)[0])


@dataclass(frozen=True)
class Environment:
    name: str
    versions: tuple[Version, ...]  # oldest first; the last is not always current
    current: str

    def version(self, vid: str) -> Version:
        return next(v for v in self.versions if v.id == vid)


@dataclass(frozen=True)
class Index:
    """What ``bundle.json`` says: environments by name, and the local channels by
    directory name with the channel URL (credentials removed) each holds."""

    channels: Mapping[str, str]
    environments: Mapping[str, Environment]


def fresh_environment(
    name: str,
    input_hash: str,
    platforms: Sequence[str],
    not_vendored: Sequence[Mapping[str, str]] = (),
    pip_not_vendored: Sequence[str] = (),
    archives: Sequence[str] = (),
) -> Environment:
    """An environment with one version, numbered 1 (merging renumbers it)."""
    if not _HEX.match(input_hash):
        raise BundleError(f"{name}: input hash {quoted(input_hash)} is not a hex digest")
    v = Version(
        version_id(1, input_hash),
        input_hash,
        tuple(platforms),
        tuple(not_vendored),
        tuple(pip_not_vendored),
        tuple(sorted(archives)),
    )
    return Environment(name, (v,), v.id)


def index_text(index: Index) -> str:
    doc = {
        "tool": {"name": "conda-vendor-plugin", "version": __version__},
        "format": INDEX_FORMAT,
        "channels": dict(sorted(index.channels.items())),
        "environments": {
            name: {
                "current": env.current,
                "versions": [
                    {
                        "id": v.id,
                        "input_hash": v.input_hash,
                        "platforms": list(v.platforms),
                        "not_vendored": [dict(f) for f in v.not_vendored],
                        "pip_not_vendored": list(v.pip_not_vendored),
                        "archives": list(v.archives),
                    }
                    for v in env.versions
                ],
            }
            for name, env in sorted(index.environments.items())
        },
    }
    return json.dumps(doc, indent=1, sort_keys=True) + "\n"


def read_index(bundle: Path) -> Index | None:
    """The index of ``bundle``, None when it has none (not a bundle, or one written by
    an earlier release, before environments had folders); :class:`BundleError` when it
    is malformed. Every name in it is checked before it becomes a path."""
    try:
        doc = read_json_file(contained(bundle, INDEX), MAX_INDEX_BYTES)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, UnsafePath) as e:
        raise BundleError(f"{bundle / INDEX}: unreadable: {e}") from None
    try:
        return _parse_index(doc)
    except (KeyError, TypeError, ValueError, StopIteration) as e:
        raise BundleError(f"{bundle / INDEX}: not a bundle index this tool wrote ({e})") from None


def _parse_index(doc: Any) -> Index:
    if doc.get("format") != INDEX_FORMAT:
        raise ValueError(f"format {quoted(doc.get('format'))}, expected {INDEX_FORMAT}")
    channels = {str(k): str(v) for k, v in doc["channels"].items()}
    for local in channels:
        if not _SEGMENT.match(local) or not local.startswith("local_"):
            raise ValueError(f"channel directory {quoted(local)}")
    envs = {}
    for name, e in doc["environments"].items():
        if env_name_problem(name) is not None:
            raise ValueError(f"environment name {quoted(name)}")
        versions = []
        for v in e["versions"]:
            if not _VERSION.match(v["id"]) or not str(v["input_hash"]).startswith(v["id"][-12:]):
                raise ValueError(f"{name}: version {quoted(v['id'])}")
            foreign = tuple({str(k): str(x) for k, x in f.items()} for f in v["not_vendored"])
            pip = tuple(map(str, v["pip_not_vendored"]))
            platforms = tuple(map(str, v["platforms"]))
            archives = tuple(map(str, v["archives"]))
            versions.append(Version(v["id"], v["input_hash"], platforms, foreign, pip, archives))
        env = Environment(name, tuple(versions), str(e["current"]))
        env.version(env.current)  # StopIteration: current names no version
        envs[name] = env
    return Index(channels, envs)


def merge_index(base: Index, fresh: Index) -> tuple[Index, dict[str, tuple[str, str]]]:
    """``base`` with the environments of ``fresh`` (one version each) added or updated.

    Returns the merged index and, per fresh environment, ``(fresh id, final id)``: the
    same input hash as the current version keeps its id (the version is replaced), a
    new one takes the next number. Base environments ``fresh`` does not name stay as
    they are."""
    channels = dict(base.channels)
    for local, url in fresh.channels.items():
        if channels.setdefault(local, url) != url:
            raise BundleError(
                f"local channel {local} holds {channels[local]} in the bundle but {url} in "
                f"this run; vendor into another output"
            )
    envs = dict(base.environments)
    renames = {}
    for name, new in fresh.environments.items():
        incoming = new.version(new.current)
        old = envs.get(name)
        if old is None:
            envs[name] = new
            renames[name] = (incoming.id, incoming.id)
            continue
        current = old.version(old.current)
        if current.input_hash == incoming.input_hash:
            vid = current.id
        else:
            vid = version_id(max(v.number for v in old.versions) + 1, incoming.input_hash)
        kept = [v for v in old.versions if v.id != vid]
        versions = sorted([*kept, replace(incoming, id=vid)], key=lambda v: v.number)
        envs[name] = Environment(name, tuple(versions), vid)
        renames[name] = (incoming.id, vid)
    return Index(channels, dict(sorted(envs.items()))), renames


def keep_latest(
    index: Index, keep: int | None, drop: Sequence[str] = ()
) -> tuple[Index, list[tuple[str, str]]]:
    """Each environment's ``keep`` latest versions (the current one always among them;
    all of them for None), without the environments named in ``drop``; returns the
    pruned index and the ``(name, id)`` of every version dropped."""
    if keep is not None and keep < 1:
        raise UsageError("vendor prune: --keep must be at least 1")
    unknown = sorted(set(drop) - set(index.environments))
    if unknown:
        raise UsageError(
            f"vendor prune: no environment {quoted(unknown[0])} in the bundle (it has "
            f"{', '.join(sorted(index.environments)) or 'none'})"
        )
    envs, dropped = {}, []
    for name, env in index.environments.items():
        if name in drop:
            dropped += [(name, v.id) for v in env.versions]
            continue
        if keep is None:
            envs[name] = env
            continue
        latest = {v.id for v in sorted(env.versions, key=lambda v: v.number)[-keep:]}
        latest.add(env.current)
        envs[name] = replace(env, versions=tuple(v for v in env.versions if v.id in latest))
        dropped += [(name, v.id) for v in env.versions if v.id not in latest]
    return Index(index.channels, envs), dropped


def write_pointers(root: Path, index: Index) -> None:
    """``current.txt`` and, where the filesystem allows, the ``current`` link of every
    environment (a link that cannot be made is left out: the pointer file is enough)."""
    for name, env in index.environments.items():
        base = contained(root, env_dir(name))
        atomic_write_text(base / POINTER, f"{VERSIONS}/{env.current}\n")
        link = base / CURRENT
        if link.is_symlink():
            link.unlink()
        try:
            link.symlink_to(f"{VERSIONS}/{env.current}", target_is_directory=True)
        except OSError:
            pass


def version_paths(index: Index) -> list[tuple[str, Version, str]]:
    """``(name, version, relative directory)`` of every kept version."""
    return [
        (n, v, version_dir(n, v.id)) for n, env in index.environments.items() for v in env.versions
    ]


def plain_dir(root: Path, rel: str) -> Path | None:
    """``root/rel`` when it is a directory reached without a link, else None."""
    try:
        path = contained(root, rel)
    except UnsafePath:
        return None
    return path if is_plain_dir(path) else None
