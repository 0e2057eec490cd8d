"""Solving without conda: py-rattler on repodata fetched by our own HTTP session."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..channel.concurrent import fetch_concurrently
from ..channel.repodata import default_cache_dir, fetch_repodata
from ..errors import BackendUnavailable, ChannelError, SolveError, SpecError, quoted
from ..records import Solution
from ..spec import EnvironmentSpec
from ..transport.session import RetryPolicy
from ..transport.urls import DEFAULT_CHANNEL_ALIAS, expand_channel, redact_text, redact_url
from .backend import channel_priority_setting, ordered
from .rattler_glue import parameters, run_solve, to_locked
from .virtual import _host_platform, virtual_packages


def _import_rattler() -> Any:
    try:
        import rattler
        import rattler.exceptions  # a submodule: not an attribute until imported
    except ImportError:
        raise BackendUnavailable(
            "py-rattler is not installed; run inside conda ('conda env lock') or "
            "pip install 'conda-vendor-plugin[rattler]'"
        ) from None
    return rattler


class RattlerBackend:
    """Solve with py-rattler. Channels come from the environment file only."""

    name = "rattler"

    def __init__(
        self,
        session: Any = None,
        cache_dir: Path | None = None,
        channel_alias: str | None = None,
        offline: bool = False,
        channel_priority: str | None = None,
    ) -> None:
        self._rattler = _import_rattler()
        self._session = session  # made on first use: file:// channels need no HTTP
        self.cache_dir = cache_dir or default_cache_dir()
        self.channel_alias = channel_alias or os.environ.get(
            "CONDA_VENDOR_CHANNEL_ALIAS", DEFAULT_CHANNEL_ALIAS
        )
        self.offline = offline
        self.policy = RetryPolicy.from_environment()
        # As conda: the option, else $CONDA_CHANNEL_PRIORITY, else conda's default.
        self.priority = (
            channel_priority
            or channel_priority_setting(
                os.environ.get("CONDA_CHANNEL_PRIORITY"), "$CONDA_CHANNEL_PRIORITY"
            )
            or "flexible"
        )
        # (channel URL, subdir) -> fetch_repodata's answer: noarch is shared by every
        # platform of a run and is fetched once, not once per platform.
        self._fetched: dict[tuple[str, str], tuple[Path, bool]] = {}

    def default_platform(self) -> str:
        return _host_platform()

    def channel_sources(self, spec: EnvironmentSpec, platform: str) -> list[tuple[str, str]]:
        """``(as written in the file, channel URL with its credentials)``, in priority order."""
        sources: list[tuple[str, str]] = []
        for c in spec.channels:
            for u in expand_channel(c, platform, self.channel_alias):
                if all(u != url for _, url in sources):
                    sources.append((c, u))
        if not sources:
            raise SpecError(f"{spec.source}: no channels; list at least one under 'channels'")
        return sources

    def configured_channels(self) -> list[str]:
        """The URLs of the ``channels:`` of ``$CONDARC`` (else ``~/.condarc``), as conda
        would read them; an unreadable file counts as none (conda reports it)."""
        from ..errors import SpecError as Unreadable
        from ..yamlfile import load_yaml, read_document

        path = Path(os.environ.get("CONDARC") or Path.home() / ".condarc").expanduser()
        try:
            doc = load_yaml(read_document(path, Unreadable, "condarc", ""), str(path), Unreadable)
        except Unreadable:
            return []
        channels = doc.get("channels") if isinstance(doc, dict) else None
        if not isinstance(channels, list):
            return []
        platform = self.default_platform()
        return [
            url
            for c in channels
            if isinstance(c, str)
            for url in expand_channel(c, platform, self.channel_alias)
        ]

    @property
    def session(self) -> Any:
        if self._session is None:
            from ..transport.session import make_session

            self._session = make_session()
        return self._session

    def session_for(self, url: str) -> Any:
        return self.session

    def retry_policy(self) -> RetryPolicy:
        return self.policy

    def channel_priority(self) -> str:
        return self.priority

    def match_specs(self, spec: EnvironmentSpec, platform: str) -> list[Any]:
        """The dependencies as py-rattler match specs, parsed as leniently as conda parses
        them (``zlib 1.2.11``, ``pkg==1.0=0``), with ``channel::pkg`` put under this run's
        channel alias as conda would (py-rattler would use its own default alias)."""
        r = self._rattler
        specs = []
        for dep in spec.dependencies:
            channel, sep, rest = dep.partition("::")
            if sep and "://" not in channel and not channel.startswith(("/", ".", "~")):
                urls = expand_channel(channel.strip(), platform, self.channel_alias)
                if len(urls) == 1:
                    dep = f"{urls[0]}::{rest}"
            try:
                specs.append(r.MatchSpec(dep, strict=False))
            except r.exceptions.InvalidMatchSpecError as e:
                raise SpecError(f"{spec.source}: invalid dependency {quoted(dep)}: {e}") from None
        return specs

    def package_cache_dirs(self) -> list[Path]:
        """Where identical archives may already sit: ``$CONDA_PKGS_DIRS`` (comma-separated)."""
        dirs = os.environ.get("CONDA_PKGS_DIRS", "")
        return [Path(d).expanduser() for d in dirs.split(",") if d.strip()]

    def repodata_file(self, channel_url: str, subdir: str) -> tuple[Path, bool]:
        """Fetched once per run: noarch is shared by every platform of a run."""
        key = (channel_url, subdir)
        if key not in self._fetched:
            r = self._rattler

            def validate(path: Path) -> None:  # what the solver will read must parse
                _sparse(r, r.Channel(channel_url), channel_url, subdir, path).close()

            local = channel_url.startswith("file://")
            self._fetched[key] = fetch_repodata(
                None if local else self.session,
                channel_url,
                subdir,
                self.cache_dir,
                self.offline,
                policy=self.policy,
                validate=validate,
            )
        return self._fetched[key]

    def prefetch(self, pairs: Iterable[tuple[str, str]]) -> None:
        """Fetch the repodata of these ``(channel URL, subdir)`` pairs all at once."""
        todo = [pair for pair in pairs if pair not in self._fetched]
        if any(not url.startswith("file://") for url, _ in todo):
            self.session  # noqa: B018  (made once, here, not by two threads at once)
        self._fetched.update(fetch_concurrently(todo, lambda pair: self.repodata_file(*pair)))

    def solve(self, spec: EnvironmentSpec, platform: str) -> Solution:
        r = self._rattler
        channel_sources = self.channel_sources(spec, platform)
        urls = [url for _, url in channel_sources]
        # Sharded subdirs first (their subset files count as fetched), then every other
        # subdir's repodata at once.
        self.use_shards(channel_sources, platform, spec.dependencies)
        self.prefetch((url, subdir) for url in urls for subdir in (platform, "noarch"))
        sources = []
        located = []  # (channel URL, subdir, path) of each source, for error messages
        repodata: dict[tuple[str, str], Path] = {}
        for url in urls:
            channel = r.Channel(url)
            found_any = False
            for subdir in (platform, "noarch"):
                path, found = self.repodata_file(url, subdir)
                found_any |= found
                repodata[(redact_url(url), subdir)] = path
                sources.append(_sparse(r, channel, url, subdir, path))
                located.append((url, subdir, path))
            if not found_any:
                raise ChannelError(
                    f"{redact_url(url)}: no repodata for {platform} or noarch; is the channel "
                    f"name or URL right?"
                )
        # py-rattler 0.28 wants a BuildString; 0.26 (which conda-rattler-solver pins
        # next to conda) has no such class and takes the plain string.
        build_string = getattr(r, "BuildString", str)
        vpkgs = [
            r.GenericVirtualPackage(
                r.PackageName(v.name), r.Version(v.version), build_string(v.build)
            )
            for v in virtual_packages(platform)
        ]
        options: dict[str, Any] = {}
        if "add_pip_as_python_dependency" in parameters(r.solve_with_sparse_repodata):
            options["add_pip_as_python_dependency"] = True  # as conda does by default
        try:
            records = run_solve(
                r.solve_with_sparse_repodata(
                    self.match_specs(spec, platform),
                    sources,
                    virtual_packages=vpkgs,
                    channel_priority=getattr(r.ChannelPriority, self.priority.capitalize()),
                    **options,
                )
            )
        except r.exceptions.InvalidMatchSpecError as e:
            raise SpecError(f"{spec.source}: invalid dependency: {e}") from None
        except r.exceptions.SolverError as e:
            raise SolveError(
                f"cannot solve {spec.source} for {platform}:\n{redact_text(str(e)).strip()}"
            ) from None
        except Exception as e:  # a record py-rattler cannot read: say whose it is
            raise _bad_record(r, located, e) from None
        finally:
            for s in sources:
                s.close()
        packages = ordered(to_locked(records))
        return Solution(platform=platform, packages=packages, repodata=repodata)

    _sharded: Any = None  # shard_subset.ShardedRepodata, made on first use

    def use_shards(
        self,
        sources: list[tuple[str, str]],
        platform: str,
        names: Iterable[str],
        follow: bool = True,
    ) -> None:
        """CEP 16: where a channel's subdir offers shards, read it from a subset
        repodata.json of the shards of ``names`` (and, ``follow``, of every name they
        depend on) instead of its whole repodata.json (see :mod:`.shard_subset`)."""
        if all(url.startswith("file://") for _, url in sources):
            return  # a local channel's repodata.json is read in place, never fetched
        from ..channel.shards import shards_enabled

        if not shards_enabled():
            return
        from ..channel.shard_subset import ShardedRepodata

        if self._sharded is None:
            self._sharded = ShardedRepodata(self.session, self.cache_dir, self.policy, self.offline)
        keys = [(url, sd) for _, url in sources for sd in (platform, "noarch")]
        full: dict[tuple[str, str], Any] = {}

        def full_depends(key: tuple[str, str], name: str) -> list[str]:
            r = self._rattler
            if key not in full:
                path, found = self.repodata_file(*key)
                full[key] = _sparse(r, r.Channel(key[0]), key[0], key[1], path) if found else None
            if full[key] is None:
                return []
            try:
                records = full[key].load_records(r.PackageName(name))
            except Exception:  # not a name py-rattler accepts: nothing to follow
                return []
            return [d for rec in records for d in rec.depends]

        try:
            # the solver adds pip to python's depends (add_pip_as_python_dependency)
            subsets = self._sharded.subsets(
                keys, names, full_depends, follow, extra={"python": ("pip",)}
            )
        finally:
            for sparse in full.values():
                if sparse is not None:
                    sparse.close()
        for key, path in subsets.items():
            self._fetched[key] = (path, True)


def _sparse(r: Any, channel: Any, url: str, subdir: str, path: Path) -> Any:
    """py-rattler's sparse index of one repodata file; a file it cannot read is one line
    naming the channel and subdir (its own error names neither)."""
    try:
        return r.SparseRepoData(channel, subdir, path)
    except Exception as e:  # py-rattler raises OSError or its own exception types
        detail = redact_text(str(e).splitlines()[0] if str(e) else type(e).__name__)
        raise ChannelError(
            f"{redact_url(url)}/{subdir}/repodata.json: not valid repodata ({detail[:200]})"
        ) from None


def _bad_record(r: Any, located: list[tuple[str, str, Path]], error: Exception) -> ChannelError:
    """The channel, subdir and package whose record py-rattler could not read (found by
    reading every record again: this runs only when a solve already failed)."""
    detail = redact_text(str(error).splitlines()[0] if str(error) else type(error).__name__)
    for url, subdir, path in located:
        sparse = r.SparseRepoData(r.Channel(url), subdir, path)
        try:
            for name in sparse.package_names():
                try:
                    sparse.load_records(r.PackageName(name))
                except Exception as e:
                    first = redact_text(str(e).splitlines()[0] if str(e) else type(e).__name__)
                    return ChannelError(
                        f"{redact_url(url)}/{subdir}/repodata.json: a record of {name!r} is "
                        f"invalid ({first[:200]}); the channel's repodata is corrupt"
                    )
        finally:
            sparse.close()
    return ChannelError(f"cannot read the channels' repodata: {detail[:200]}")
