"""A lockfile as solutions, without a solver.

Each pinned archive is looked up in its channel's repodata (fetched through the
backend's machinery, as a solve would), and its ORIGINAL entry must agree with the
lockfile: same sha256 (or md5 where the lockfile has only that). The package then
carries the entry's size and hashes, so the download is verified against both.

The channel of a package is the one its URL names; a package whose URL is not under
any listed channel (CEP 15 ``base_url`` on a mirror) is looked up in the lockfile's
channels, in order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from .channel.entries import Entries
from .errors import ChannelError, LockfileError
from .records import LockedPackage, Lockfile, Solution
from .solve.backend import Backend, ordered
from .spec import EnvironmentSpec
from .transport.urls import redact_url


def lock_platforms(lock: Lockfile, wanted: Sequence[str]) -> tuple[str, ...]:
    """``-p`` picks platforms of the lockfile (default: all of them)."""
    missing = [p for p in wanted if p not in lock.packages]
    if missing:
        source = lock.path or "the lockfile"
        raise LockfileError(
            f"{source}: no packages for {', '.join(missing)}; it locks "
            f"{', '.join(lock.platforms) or 'no platform'}"
        )
    return tuple(wanted) or lock.platforms


def channel_sources(
    lock: Lockfile, platforms: Sequence[str], backend: Backend
) -> list[tuple[str, str]]:
    """``(as written, channel URL with credentials)`` for the lockfile's channels and
    for every channel a package URL names, in priority order."""
    spec = EnvironmentSpec(channels=lock.channels, platforms=tuple(platforms))
    sources: list[tuple[str, str]] = []
    for platform in platforms:
        if lock.channels:
            for src in backend.channel_sources(spec, platform):
                if src not in sources:
                    sources.append(src)
    known = {redact_url(url).rstrip("/") for _, url in sources}
    for platform in platforms:
        for p in lock.packages[platform]:
            if p.channel.rstrip("/") not in known and not _under_any(p.url, known):
                known.add(p.channel.rstrip("/"))
                sources.append((p.channel, p.channel))
    return sources


def _under_any(url: str, channels: set[str]) -> bool:
    return any(url.startswith(c + "/") for c in channels)


def resolve(
    lock: Lockfile,
    platforms: Sequence[str],
    sources: Sequence[tuple[str, str]],
    backend: Backend,
    entries: Entries,
) -> list[Solution]:
    """One :class:`Solution` per platform: the lockfile's packages, each checked against
    (and completed from) its channel's original repodata entry, in install order (which
    conda-lock and pixi files do not keep; ours already are, and stay as they are)."""
    urls = [url for _, url in sources]
    use_shards = getattr(backend, "use_shards", None)  # CEP 16: the shards of these names
    for platform in platforms if use_shards is not None else ():
        names = {p.name for p in lock.packages[platform]}
        use_shards(list(sources), platform, names, follow=False)
    solutions = []
    for platform in platforms:
        _expect_entries(lock.packages[platform], urls, backend, entries)
        repodata: dict[tuple[str, str], Path] = {}
        packages = ordered(
            _resolve_one(p, platform, urls, backend, entries, repodata)
            for p in lock.packages[platform]
        )
        solutions.append(Solution(platform=platform, packages=packages, repodata=repodata))
    return solutions


def _expect_entries(
    packages: Sequence[LockedPackage], urls: Sequence[str], backend: Backend, entries: Entries
) -> None:
    """Tell ``entries`` which archive each repodata file will be asked for first (the
    package's own channel), so each file is read once for all of them."""
    for p in packages:
        own = [u for u in urls if redact_url(u).rstrip("/") == p.channel.rstrip("/")]
        first = (own or list(urls))[:1]
        for url in first:
            path, found = backend.repodata_file(url, p.subdir)
            if found:
                entries.expect(path, [p.fn])


def _resolve_one(
    p: LockedPackage,
    platform: str,
    urls: Sequence[str],
    backend: Backend,
    entries: Entries,
    repodata: dict[tuple[str, str], Path],
) -> LockedPackage:
    own = [u for u in urls if redact_url(u).rstrip("/") == p.channel.rstrip("/")]
    looked = []
    for url in dict.fromkeys([*own, *urls]):
        channel = redact_url(url).rstrip("/")
        path, found = backend.repodata_file(url, p.subdir)
        looked.append(f"{channel}/{p.subdir}")
        hit = entries.find(path, p.fn) if found else None
        if hit is None:
            continue
        repodata[(channel, p.subdir)] = path
        return _checked(p, hit[1], channel)
    raise ChannelError(
        f"{p.dist} ({platform}): {p.fn} is listed in none of {', '.join(looked)}; the "
        f"channel no longer has it (or the lockfile names the wrong channel): lock again, "
        f"review the change, and vendor the new lockfile"
    )


def _checked(p: LockedPackage, entry: Mapping[str, Any], channel: str) -> LockedPackage:
    """``p`` from ``channel``, with the entry's size and hashes once they agree."""
    pairs = [("sha256", p.sha256, entry.get("sha256")), ("md5", p.md5, entry.get("md5"))]
    compared = False
    for kind, ours, theirs in pairs:
        if ours and theirs:
            compared = True
            if ours.lower() != str(theirs).lower():
                raise ChannelError(
                    f"{p.dist}: the lockfile's {kind} {ours} differs from {channel}/{p.subdir}"
                    f"/repodata.json ({theirs}); the channel changed the package or the "
                    f"lockfile is wrong: lock again and review the change"
                )
    if not compared:
        raise ChannelError(
            f"{p.dist}: the lockfile and {channel}/{p.subdir}/repodata.json share no hash "
            f"to compare; refusing to vendor an archive nobody can vouch for"
        )
    size, depends = entry.get("size"), entry.get("depends")
    return replace(
        p,
        channel=channel,
        sha256=p.sha256 or entry.get("sha256"),
        md5=p.md5 or entry.get("md5"),
        size=size if isinstance(size, int) and not isinstance(size, bool) else p.size,
        depends=tuple(map(str, depends)) if isinstance(depends, list) else p.depends,
    )
