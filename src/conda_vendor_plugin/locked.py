"""A lockfile as solutions, without a solver.

Each pinned archive is looked up in its channel's repodata (fetched through the
backend's machinery, as a solve would), and its ORIGINAL entry must agree with the
lockfile: same sha256 (or md5 where the lockfile has only that). The package then
carries the entry's size and hashes, so the download is verified against both.

The channel of a package is the one its URL names; a package whose URL is not under
any listed channel (CEP 15 ``base_url`` on a mirror) is looked up in the lockfile's
channels, in order. The archive is then fetched from where that channel serves it: a
lockfile URL elsewhere (another host, a path beside the channel's) is only a pointer,
and never receives the channel's credentials.

A lockfile comes from elsewhere: it brings no credentials (those come from the user's
configuration and the environment files of the run, :class:`UserChannels`) and may use a
``file://`` channel only if the user named that channel too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .channel.entries import Entries
from .errors import ChannelError, LockfileError
from .records import LockedPackage, Lockfile, Solution
from .solve.backend import Backend, ordered
from .spec import EnvironmentSpec
from .transport.urls import credentialed, redact_url, under_channel


@dataclass(frozen=True)
class UserChannels:
    """What the user (not a lockfile) said about channels in this run: the credentials of
    every channel URL of their configuration and environment files, and the local
    channels they named (``file://`` URLs, without a trailing slash)."""

    credentials: Mapping[str, str] = field(default_factory=dict)
    local: frozenset[str] = frozenset()

    def check_local(self, channel: str, source: str) -> None:
        """Refuse a ``file://`` channel the user did not name (before anything is read)."""
        if channel.startswith("file:") and local_key(channel) not in self.local:
            raise LockfileError(
                f"{source}: uses the local channel {channel}, which this run was not given; "
                f"a lockfile may read local files only from a channel you name too (in "
                f"an environment file of the run, or channels: in your .condarc)"
            )


def local_key(channel: str) -> str:
    """A ``file://`` channel URL as compared with the channels the user named."""
    from .channel.repodata import file_url_to_path

    return file_url_to_path(channel.rstrip("/")).resolve().as_uri()


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
    lock: Lockfile, platforms: Sequence[str], backend: Backend, user: UserChannels
) -> list[tuple[str, str]]:
    """``(as written, channel URL with credentials)`` for the lockfile's channels and
    for every channel a package URL names, in priority order; credentials from the
    backend's configuration and the user's inputs, local channels only those the user
    named."""
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
    source = lock.path or "the lockfile"
    for _, url in sources:
        user.check_local(redact_url(url).rstrip("/"), source)
    return [(written, credentialed(url, user.credentials)) for written, url in sources]


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
        return _checked(p, hit[1], channel, entries.header(path).get("info"))
    raise ChannelError(
        f"{p.dist} ({platform}): {p.fn} is listed in none of {', '.join(looked)}; the "
        f"channel no longer has it (or the lockfile names the wrong channel): lock again, "
        f"review the change, and vendor the new lockfile"
    )


def served_at(p: LockedPackage, channel: str, info: object) -> str:
    """Where ``channel`` serves ``p``'s archive: ``<info.base_url>/<file>`` under a CEP 15
    ``base_url``, else ``<channel>/<subdir>/<file>``."""
    base = info.get("base_url") if isinstance(info, Mapping) else None
    if isinstance(base, str) and base.startswith(("http://", "https://")):
        return f"{redact_url(base).rstrip('/')}/{p.fn}"
    return f"{channel}/{p.subdir}/{p.fn}"


def _checked(
    p: LockedPackage, entry: Mapping[str, Any], channel: str, info: object = None
) -> LockedPackage:
    """``p`` from ``channel``, with the entry's size and hashes once they agree, and
    fetched from where the channel serves it unless its URL lies under the channel."""
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
    own = served_at(p, channel, info)
    return replace(
        p,
        channel=channel,
        url=p.url if p.url == own or under_channel(p.url, channel) else own,
        sha256=p.sha256 or entry.get("sha256"),
        md5=p.md5 or entry.get("md5"),
        size=size if isinstance(size, int) and not isinstance(size, bool) else p.size,
        depends=tuple(map(str, depends)) if isinstance(depends, list) else p.depends,
    )
