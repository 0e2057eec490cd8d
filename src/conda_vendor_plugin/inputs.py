"""What a vendor run takes in: each input an environment of the bundle, settled (solved,
or read from a lockfile and checked against its channels) and named.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from . import formats, locked
from .bundle import history
from .channel.entries import Entries
from .errors import UsageError, VendorError
from .fsutil import read_limited
from .installed import check_platforms, read_installed
from .lock import solve_spec
from .progress import Reporter
from .records import Lockfile, Solution
from .solve.backend import Backend, effective_spec
from .spec import NO_CHANNEL_OVERRIDE, ChannelOverride, EnvironmentSpec, load_spec
from .transport.urls import merged_credentials
from .yamlfile import MAX_DOCUMENT_BYTES


@dataclass(frozen=True)
class Request:
    """One environment, settled: per platform the packages, and the channels they are from."""

    name: str
    spec: EnvironmentSpec
    solutions: Sequence[Solution]
    lock: Lockfile
    sources: Sequence[tuple[str, str]]  # (as written, channel URL with credentials)


def solve_request(
    name: str,
    spec: EnvironmentSpec,
    backend: Backend,
    reporter: Reporter,
    skip_non_wheel: bool = False,
) -> Request:
    """Solve every platform of an environment file (its ``pip:`` section too)."""
    solutions, lock = solve_spec(spec, backend, reporter, skip_non_wheel)
    sources: list[tuple[str, str]] = []
    for platform in spec.platforms:
        for src in backend.channel_sources(spec, platform):
            if src not in sources:
                sources.append(src)
    return Request(name, spec, solutions, lock, sources)


def lockfile_request(
    paths: Sequence[str],
    platforms: Sequence[str],
    backend: Backend,
    reporter: Reporter,
    entries: Entries,
    namespace: str | None = None,
    user: locked.UserChannels | None = None,
) -> Request:
    """Take lockfiles as they are: no solve; every package checked against its channel
    (with the credentials and local channels of ``user``, default: the backend's
    configuration alone)."""
    with reporter.step(f"Reading {', '.join(paths)}"):
        lock = formats.read_files(paths)
    name = env_name(lock.name, paths[0], namespace)
    return _locked_request(name, lock, platforms, backend, reporter, entries, paths, user)


def installed_request(
    prefix: str,
    platforms: Sequence[str],
    backend: Backend,
    reporter: Reporter,
    entries: Entries,
    namespace: str | None = None,
    user: locked.UserChannels | None = None,
) -> Request:
    """An installed environment as it is: its conda-meta records, each checked against
    (and its original repodata entry taken from) the channel it came from."""
    with reporter.step(f"Reading the packages installed in {prefix}"):
        found = read_installed(prefix, backend.default_platform)
    check_platforms(found, platforms)
    lock = replace(found.lock, foreign=found.not_locked)
    name = env_name(lock.name, prefix, namespace)
    return _locked_request(name, lock, platforms, backend, reporter, entries, (), user)


def _locked_request(
    name: str,
    lock: Lockfile,
    platforms: Sequence[str],
    backend: Backend,
    reporter: Reporter,
    entries: Entries,
    paths: Sequence[str],
    user: locked.UserChannels | None,
) -> Request:
    """A lock taken as it is: each package checked against its channel, no solve."""
    wanted = locked.lock_platforms(lock, platforms)
    user = user if user is not None else user_channels([], backend)
    sources = locked.channel_sources(lock, wanted, backend, user)
    count = sum(len(lock.packages[p]) for p in wanted)
    with reporter.step(f"Checking {count} locked packages against their channels"):
        solutions = locked.resolve(lock, wanted, sources, backend, entries)
    spec = EnvironmentSpec(name=lock.name, channels=lock.channels, platforms=wanted)
    resolved = Lockfile(
        input_hash=lock.input_hash or _files_hash(paths),
        channels=lock.channels,
        packages={s.platform: s.packages for s in solutions},
        name=lock.name,
        foreign=tuple(f for f in lock.foreign if f.platform in wanted),
        channel_priority=lock.channel_priority,
        pypi={p: w for p, w in lock.pypi.items() if p in wanted},
        format=lock.format,
    )
    return Request(name, spec, solutions, resolved, sources)


def user_channels(specs: Sequence[EnvironmentSpec], backend: Backend) -> locked.UserChannels:
    """The channels the user gave this run (the backend's configuration and the
    environment files): their credentials, merged, and the local ones among them."""
    urls = list(getattr(backend, "configured_channels", list)())
    for spec in specs:
        for platform in spec.platforms:
            urls += [url for _, url in backend.channel_sources(spec, platform)]
    local = frozenset(locked.local_key(u) for u in urls if u.startswith("file:"))
    return locked.UserChannels(merged_credentials(urls), local)


def env_name(declared: str | None, path: str, namespace: str | None) -> str:
    """An environment's name in the bundle: the name its file declares, else the file
    name up to its first dot; under ``namespace/`` when one is given."""
    name = declared or Path(path).name.split(".", 1)[0]
    return history.check_env_name(f"{namespace}/{name}" if namespace else name, path)


def _files_hash(paths: Sequence[str]) -> str:
    """The input hash of a lockfile that records none: sha256 of its files' bytes, in
    the order given."""
    h = hashlib.sha256()
    for path in paths:
        h.update(Path(path).read_bytes())
    return h.hexdigest()


def is_lockfile(path: str) -> bool:
    """Whether a file named as an environment is a lockfile (by its content)."""
    try:
        text = read_limited(path, MAX_DOCUMENT_BYTES).decode("utf-8", errors="replace")
    except (OSError, ValueError):
        return False  # load_spec reports it
    return formats.detect(text) is not None


def requests(
    env_files: Sequence[str],
    lockfiles: Sequence[str],
    platforms: Sequence[str],
    namespace: str | None,
    backend: Backend,
    reporter: Reporter,
    entries: Entries,
    channels: ChannelOverride = NO_CHANNEL_OVERRIDE,
    prefixes: Sequence[str] = (),
    skip_non_wheel: bool = False,
) -> list[Request]:
    """Every environment of the run, each with a name no other takes; ``channels`` (-c)
    apply to the environment files solved, not to lockfiles (they name their own)."""
    specs = {
        path: effective_spec(channels.apply(load_spec(path)), platforms, backend)
        for path in env_files
        if not is_lockfile(path)
    }
    if (channels.channels or channels.override) and not specs:
        raise UsageError(
            "-c/--override-channels apply to environment files; a lockfile names its own channels"
        )
    user = user_channels(list(specs.values()), backend)
    found: list[Request] = []
    for path in env_files:
        spec = specs.get(path)
        if spec is None:
            found.append(
                lockfile_request([path], platforms, backend, reporter, entries, namespace, user)
            )
            continue
        name = env_name(spec.name, path, namespace)
        found.append(solve_request(name, spec, backend, reporter, skip_non_wheel))
    if lockfiles:
        found.append(
            lockfile_request(lockfiles, platforms, backend, reporter, entries, namespace, user)
        )
    for prefix in prefixes:
        found.append(
            installed_request(prefix, platforms, backend, reporter, entries, namespace, user)
        )
    if not found:
        raise VendorError("vendor: name an environment file, a --lockfile or -n/-p")
    names = Counter(r.name for r in found)
    twice = sorted(n for n, k in names.items() if k > 1)
    if twice:
        raise UsageError(
            f"vendor: two inputs are both environment {twice[0]!r}; give them different "
            f"'name:' values (or file names)"
        )
    return found
