"""Which archive goes to which local channel: ``OUT/local_<name>/<subdir>/<file>``.

One local channel per source channel, named so that two sources never share a
directory; each archive once, however many platforms use it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..errors import ChannelError, quoted
from ..records import LockedPackage, Solution, archive_name_problem
from ..spec import is_subdir
from ..transport.urls import archive_url_problem, local_channel_name, redact_url


@dataclass(frozen=True)
class VendoredPackage:
    """A solved package and where it lives in the output."""

    package: LockedPackage
    local_channel: str  # directory name, e.g. local_conda-forge

    @property
    def relpath(self) -> str:
        return f"{self.local_channel}/{self.package.subdir}/{self.package.fn}"


def local_names(
    sources: Sequence[tuple[str, str]], taken: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Map each source channel URL (credentials stripped) to its local directory name.

    ``taken`` (local name -> channel URL) are the names a bundle being updated already
    uses: a URL there keeps its name, and no other URL gets one of them.

    ``sources`` is ``(as written in the environment file, channel URL)`` pairs. A name
    that stands for one URL keeps its name (``conda-forge`` -> ``local_conda-forge``); a
    name standing for several URLs is suffixed with each URL's last path segment
    (``defaults`` -> ``local_defaults_main``, ``local_defaults_r``); URL channels are named
    from the end of their path, taking more of it (then the host) until the name is
    unique, so two sources never share a directory.
    """
    per_written: dict[str, int] = {}
    for written, _ in sources:
        per_written[written] = per_written.get(written, 0) + 1
    names: dict[str, str] = {}
    used: set[str] = set(taken or {})
    kept = {url.rstrip("/"): local for local, url in (taken or {}).items()}
    for written, url in sources:
        key = redact_url(url).rstrip("/")
        if key in names:
            continue
        if key in kept:
            names[key] = kept[key]
            continue
        for candidate in _candidates(written, key, per_written[written] > 1):
            if candidate not in used:
                break
        else:  # pragma: no cover - the last candidate is the whole URL, unique per key
            candidate = f"{candidate}-{len(used)}"
        used.add(candidate)
        names[key] = candidate
    return names


def _candidates(written: str, url: str, shared: bool) -> list[str]:
    """Directory names to try for one source, most readable first."""
    parts = urlsplit(url)
    segments = [s for s in parts.path.split("/") if s]
    if "://" not in written and "/" not in written and not written.startswith("~"):
        if shared and segments:
            return [local_channel_name(f"{written}_{segments[-1]}")]
        return [local_channel_name(written)]
    found = [local_channel_name("_".join(segments[-n:])) for n in range(1, len(segments) + 1)]
    if parts.netloc or not found:
        found.append(local_channel_name(url))
    return found


def check_package(p: LockedPackage, allow_size_only: bool = False) -> None:
    """Refuse a package that could not be stored safely: its file name and subdir become
    paths in the output, its URL says how it is fetched, and it must have a hash to be
    verified by (a size alone only when the user allowed it). All are untrusted."""
    channel = redact_url(p.channel)
    where = f"{channel}/{p.subdir}" if is_subdir(p.subdir) else f"{channel} ({quoted(p.subdir)})"
    problem = archive_name_problem(p.fn, p.name, p.version, p.build)
    if problem is not None:
        raise ChannelError(
            f"{where}: archive name {quoted(p.fn)} {problem}; refusing to vendor it "
            f"(the channel's repodata is corrupt or hostile)"
        )
    if not is_subdir(p.subdir):
        raise ChannelError(
            f"{where}: {p.fn}: subdir {quoted(p.subdir)} is not noarch or a platform; "
            f"refusing to vendor it (the channel's repodata is corrupt or hostile)"
        )
    if not (p.sha256 or p.md5) and not allow_size_only:
        raise ChannelError(
            f"{where}: {p.fn}: its repodata entry gives no sha256 or md5, so the archive "
            f"could be verified by its size alone; refusing it (--allow-size-only accepts "
            f"that, and the manifest says so)"
        )
    problem = archive_url_problem(p.channel, p.url)
    if problem is not None:
        raise ChannelError(
            f"{where}: {p.fn}: refusing to fetch {quoted(redact_url(p.url))}: {problem} "
            f"(check the channel's info.base_url)"
        )


def plan(
    solutions: Iterable[Solution], names: Mapping[str, str], allow_size_only: bool = False
) -> list[VendoredPackage]:
    """Every package of every solution once, with its local channel, in path order.

    Each passes :func:`check_package` first, so later steps may join its names into
    paths."""
    seen: dict[str, VendoredPackage] = {}
    for sol in solutions:
        for p in sol.packages:
            check_package(p, allow_size_only)
            local = names.get(p.channel.rstrip("/"))
            if local is None:
                raise ChannelError(
                    f"{p.dist}: its channel {p.channel} is not among the environment's channels"
                )
            vp = VendoredPackage(p, local)
            seen.setdefault(vp.relpath, vp)
    return sorted(seen.values(), key=lambda v: v.relpath)
