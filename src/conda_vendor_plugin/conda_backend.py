"""Solving inside conda: conda's configured solver, channels, auth and repodata cache.

Only this module and :mod:`.conda_cli` import conda, and only when called.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .conda_fetch import fetch_failure, quiet_retries, raise_unanswered
from .errors import SolveError, SpecError
from .records import LockedPackage, Solution
from .solve.backend import ordered
from .solve.virtual import foreign_target_overrides
from .spec import EnvironmentSpec
from .transport.session import RetryPolicy
from .transport.urls import redact_text, redact_url

log = logging.getLogger(__name__)

REPODATA_FN = "repodata.json"
NOT_A_PREFIX = "/conda-vendor-plugin/env/does/not/exist"


@contextmanager
def target_subdir(platform: str) -> Iterator[None]:
    """Make conda believe it runs on ``platform`` so virtual packages follow the target.

    For a target that is not this machine, conda's plugins would offer ``__osx`` with no
    version, this host's glibc, this host's GPU: the documented defaults of
    :mod:`.virtual` are set as ``CONDA_OVERRIDE_*`` for the solve instead (the user's own
    ``CONDA_OVERRIDE_*`` win), so both modes offer the same virtual packages.
    """
    from conda.base.context import context

    with _environment(foreign_target_overrides(platform)), context._override("_subdir", platform):
        yield


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


class CondaBackend:
    """Solve with ``context.plugin_manager``'s solver backend (classic, libmamba, rattler...)."""

    name = "conda"

    def channel_priority(self) -> str:
        """conda's setting (``--channel-priority`` reaches it as conda's own options do)."""
        from conda.base.context import context

        return str(getattr(context.channel_priority, "value", context.channel_priority))

    def default_platform(self) -> str:
        from conda.base.context import context

        return context.subdir

    def channels(self, spec: EnvironmentSpec) -> list[str]:
        """The file's channels (``nodefaults`` dropped), else conda's configured channels."""
        from conda.base.context import context

        chans = [c for c in spec.channels if c != "nodefaults"]
        if not chans:
            chans = list(context.channels)
        if not chans:
            raise SpecError(f"{spec.source}: no channels in the file and none configured")
        return chans

    def channel_sources(self, spec: EnvironmentSpec, platform: str) -> list[tuple[str, str]]:
        """``(as written, channel URL with credentials)`` for every URL a channel stands for."""
        from conda.models.channel import Channel

        sources: list[tuple[str, str]] = []
        for c in self.channels(spec):
            for url in Channel(c).urls(with_credentials=True, subdirs=("noarch",)):
                base = url.rstrip("/").rsplit("/", 1)[0]
                if all(base != u for _, u in sources):
                    sources.append((c, base))
        return sources

    def configured_channels(self) -> list[str]:
        """The URLs (with credentials) of conda's configured ``channels`` (the condarc's,
        and ``-c`` where conda's options reach the context)."""
        from conda.base.context import context
        from conda.models.channel import Channel

        urls: list[str] = []
        for c in context.channels:
            for url in Channel(c).urls(with_credentials=True, subdirs=("noarch",)):
                urls.append(url.rstrip("/").rsplit("/", 1)[0])
        return urls

    def session_for(self, url: str) -> Any:
        """conda's session for ``url`` (auth, proxies, SSL), without its own retries."""
        from conda.gateways.connection.session import get_session

        return _without_retries(get_session(url))

    def retry_policy(self) -> RetryPolicy:
        """conda's retry and timeout settings, applied by our one retry layer."""
        from conda.base.context import context

        return RetryPolicy(
            tries=1 + max(0, int(context.remote_max_retries)),
            backoff=float(context.remote_backoff_factor),
            connect_timeout=float(context.remote_connect_timeout_secs),
            read_timeout=float(context.remote_read_timeout_secs),
        )

    def package_cache_dirs(self) -> list[Path]:
        from conda.base.context import context

        return [Path(d) for d in context.pkgs_dirs]

    _subsets: dict[tuple[str, str], Path] | None = None  # use_shards' answers
    _locked_names: frozenset[str] = frozenset()  # every name use_shards was asked for

    def repodata_file(self, channel_url: str, subdir: str) -> tuple[Path, bool]:
        subset = (self._subsets or {}).get((redact_url(channel_url.rstrip("/")), subdir))
        if subset is not None:
            return subset, True
        return _cached_repodata(channel_url, subdir)

    def use_shards(
        self, sources: list[tuple[str, str]], platform: str, names: Any, follow: bool = True
    ) -> None:
        """CEP 16 for a lockfile (``follow`` is False: its names are all it needs): where
        conda reads a channel's subdir through shards, the entries come from a subset of
        the locked names' shards, fetched through conda's machinery and caches, instead of
        the whole repodata.json. Nothing changes where conda's shards are off or fail."""
        from conda.base.context import context

        if not getattr(context, "repodata_use_shards", False) or follow:
            return
        urls = [f"{url.rstrip('/')}/{sd}" for _, url in sources for sd in (platform, "noarch")]
        # noarch serves every platform: its subset must hold the names of all of them
        self._locked_names = self._locked_names | set(names)
        subsets = _shard_subsets(urls, sorted(self._locked_names))
        self._subsets = {**(self._subsets or {}), **subsets}

    def solve(self, spec: EnvironmentSpec, platform: str) -> Solution:
        from conda import CondaError
        from conda.base.context import context
        from conda.models.channel import Channel

        channels = [Channel(c) for c in self.channels(spec)]
        with target_subdir(platform):
            solver_cls = context.plugin_manager.get_cached_solver_backend()
            try:
                solver = solver_cls(
                    prefix=NOT_A_PREFIX,
                    channels=channels,
                    subdirs=(platform, "noarch"),
                    specs_to_add=list(spec.dependencies),
                    repodata_fn=REPODATA_FN,
                    command="create",
                )
                with quiet_retries():
                    records = solver.solve_final_state()
            except CondaError as e:
                unreachable = fetch_failure(e)
                if unreachable is not None:
                    raise unreachable from None
                detail = redact_text(str(e)).strip()
                if type(e).__name__ == "ResolvePackageNotFound":
                    # Its text is only the list of specs (conda's CLI adds the sentence).
                    detail = f"nothing in the channels provides:\n  {detail}"
                raise SolveError(f"cannot solve {spec.source} for {platform}:\n{detail}") from None
            sharded = _conda_shard_subsets(solver_cls, channels, platform, records)
            repodata = {**_repodata_files(channels, platform, skip=sharded), **sharded}
        packages = [to_locked(rec) for rec in records if not rec.name.startswith("__")]
        return Solution(platform=platform, packages=ordered(packages), repodata=repodata)


_NO_RETRY_CLONES: dict[int, Any] = {}


def _without_retries(session: Any) -> Any:
    """A shallow copy of a conda session whose http(s) adapter does not retry.

    conda's adapter retries 413/429/500/503 and connection errors by itself; under our
    retry loop that would multiply the requests. The copy keeps the session's auth,
    proxies, certificates, headers and ``prepare_request``, and the adapter's SSL
    context (truststore); conda's own session is left as it is.
    """
    import copy
    from collections import OrderedDict

    clone = _NO_RETRY_CLONES.get(id(session))
    if clone is not None:
        return clone
    clone = copy.copy(session)
    clone.adapters = OrderedDict(session.adapters)
    current = session.get_adapter("https://x")
    if getattr(current, "max_retries", None) is not None:  # online (offline: left alone)
        adapter_type = type(current)
        kwargs = {"max_retries": 0, "pool_maxsize": 16}
        if hasattr(current, "_ssl_context"):
            kwargs["ssl_context"] = current._ssl_context
        adapter = adapter_type(**kwargs)
        clone.mount("http://", adapter)
        clone.mount("https://", adapter)
    _NO_RETRY_CLONES[id(session)] = clone
    return clone


def _repodata_files(
    channels: list[Any], platform: str, skip: Mapping[tuple[str, str], Path] | None = None
) -> dict[tuple[str, str], Path]:
    """Where conda cached the repodata.json each (channel, subdir) was solved from (those
    in ``skip`` left out)."""
    found: dict[tuple[str, str], Path] = {}
    for ch in channels:
        for url in ch.urls(with_credentials=True, subdirs=(platform, "noarch")):
            channel_url, _, subdir = url.rstrip("/").rpartition("/")
            if (redact_url(channel_url), subdir) in (skip or {}):
                continue
            path, exists = _cached_repodata(channel_url, subdir)
            if exists:
                found[(redact_url(channel_url), subdir)] = path
    return found


def _conda_shard_subsets(
    solver_cls: Any, channels: list[Any], platform: str, records: Any
) -> dict[tuple[str, str], Path]:
    """CEP 16 inside conda: for each subdir the solver read through conda's sharded
    repodata (a solver that takes ``build_repodata_subset``, with conda's
    ``repodata_use_shards``), a subset repodata.json of the solved names' shards, read
    through conda's own machinery and caches (its index cache, its shard database),
    instead of the full repodata.json. Written the way standalone mode writes it."""
    import inspect

    from conda.base.context import context

    if not getattr(context, "repodata_use_shards", False):
        return {}
    if "build_repodata_subset" not in inspect.signature(solver_cls.__init__).parameters:
        return {}
    from conda.core.subdir_data import SubdirData
    from conda.models.channel import Channel

    urls = [
        url
        for ch in channels
        for url in ch.urls(with_credentials=True, subdirs=(platform, "noarch"))
        if SubdirData(Channel(url)).repo_cache.cache_path_shards.exists()
    ]
    return _shard_subsets(urls, sorted({r.name for r in records if not r.name.startswith("__")}))


def _shard_subsets(urls: list[str], names: list[str]) -> dict[tuple[str, str], Path]:
    """``{(channel, subdir): subset repodata.json}`` of ``names``' shards for each of the
    subdir ``urls`` that conda reads through shards (conda's ``build_repodata_subset``:
    its index cache and shard database), written the way standalone mode writes them."""
    from conda.core.subdir_data import SubdirData
    from conda.models.channel import Channel

    if not urls or not names:
        return {}
    try:
        from conda.gateways.shards import build_repodata_subset

        with quiet_retries() as retried:
            subsets = build_repodata_subset(names, {u: Channel(u) for u in urls}, depth=0) or {}
    except Exception as e:  # conda's private machinery changed: repodata.json, as before
        log.debug("conda's sharded repodata unusable here: %s", redact_text(str(e)))
        return {}
    raise_unanswered([u for u in urls if u not in subsets], retried.broken)
    from .channel.cache_sweep import SUBSET_FILES, sweep
    from .channel.shard_subset import write_subset
    from .channel.shards import hex_bytes

    found: dict[tuple[str, str], Path] = {}
    for url, shards in subsets.items():
        index = getattr(shards, "shards_index", None)  # ShardLike: monolithic, skipped
        if url not in urls or not isinstance(index, dict):
            continue
        sections: dict[str, dict[str, Any]] = {"packages": {}, "packages.conda": {}}
        for (fn, section), record in shards.iter_records_v3():
            if section in sections:
                sections[section][fn] = hex_bytes(record)
        channel_url, _, subdir = url.rstrip("/").rpartition("/")
        cache = Path(SubdirData(Channel(url)).cache_path_json).parent
        key = (redact_url(channel_url), subdir)
        found[key] = write_subset(cache, key, index.get("info") or {}, [sections])
    for cache in {path.parent for path in found.values()}:
        sweep(cache, SUBSET_FILES)  # our subset files only: the rest is conda's
    return found


def _cached_repodata(channel_url: str, subdir: str) -> tuple[Path, bool]:
    """conda's cache file for ``<channel_url>/<subdir>/repodata.json``, fetched through
    conda's session (auth, proxies, SSL, offline mode) when it is not there yet."""
    from conda.core.subdir_data import SubdirData
    from conda.models.channel import Channel

    sd = SubdirData(Channel(f"{channel_url.rstrip('/')}/{subdir}"), repodata_fn=REPODATA_FN)
    path = Path(sd.cache_path_json)
    if not path.exists():
        # A solver with its own cache (e.g. sharded repodata) left none in conda's: let
        # conda fetch the full repodata.json into its cache.
        try:
            with quiet_retries():
                sd.load()
        except Exception as e:  # a missing subdir is fine; the caller says what it needs
            unreachable = fetch_failure(e, channel_url)
            if unreachable is not None:
                raise unreachable from None
            log.debug("no repodata for %s/%s: %s", redact_url(channel_url), subdir, e)
    return path, path.exists()


def to_locked(rec: Any) -> LockedPackage:
    """A conda ``PackageRecord`` as a :class:`LockedPackage` (credentials stripped)."""
    url = redact_url(rec.url)
    # The channel the record was read from: not always the start of its URL, since CEP 15
    # repodata may put its archives elsewhere (info.base_url).
    channel = getattr(rec.channel, "base_url", None)
    return LockedPackage(
        name=rec.name,
        version=str(rec.version),
        build=str(rec.build),
        subdir=rec.subdir,
        channel=redact_url(channel).rstrip("/") if channel else url.rsplit("/", 2)[0],
        fn=rec.fn,
        url=url,
        sha256=(rec.get("sha256") or "").lower() or None,
        md5=(rec.get("md5") or "").lower() or None,
        size=rec.get("size") or None,
        depends=tuple(rec.depends),
    )
