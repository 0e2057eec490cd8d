"""explicit-1.0 written by conda: ``conda export --format explicit-1.0 [-p PREFIX]``.

The ``conda_environment_exporters`` plugin. It writes the packages INSTALLED in a prefix:
every record of ``conda-meta`` (pip-installed packages are not conda packages: conda
leaves them out and they are warned about), in install order, each with its URL,
sha256, md5 and size. A record lacking one of these gets it from conda's package cache
(its ``repodata_record.json``, else the cached archive itself); failing that the export
fails, naming the package.

Only the prefix's own platform can be exported, so the exporter registers as
single-platform (``conda export --help`` does not offer it for several platforms, and
conda refuses several ``--platform`` itself). For one other ``--platform`` conda re-solves
the environment's history before calling the exporter (``Environment.extrapolate``): that
is a new solve, not what is installed, so it is refused; a lock for several platforms
comes from ``conda env lock --platform ...``.

The input hash of an exported lockfile (there is no environment file): the input hash
(:func:`.spec.input_hash`) of the environment file that would pin every exported
package exactly: ``channels`` the exported packages' channels (in order of first use in
install order, credentials stripped), ``dependencies`` one ``name==version=build`` per
package, ``platforms`` the one exported platform. See ``docs/conda.md``.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from .conda_specifier import ALIASES, FORMAT
from .formats import explicit_v1
from .fsutil import iter_chunks
from .installed import export_input_hash
from .records import LockedPackage, Lockfile
from .solve.order import install_order
from .transport.urls import redact_text, redact_url

if TYPE_CHECKING:
    from conda.models.environment import Environment
    from conda.models.records import PackageRecord

__all__ = ["ALIASES", "DEFAULT_FILENAMES", "FORMAT", "export", "export_input_hash"]

# conda's exporters match these against the --file name (fnmatch): exact names that are
# ours only (the names `conda vendor` writes), never a glob such as *.lock.yml, which any
# other lockfile exporter may use too (conda then refuses `--file x.lock.yml` as claimed
# twice). Other names take `--format explicit-1.0`.
DEFAULT_FILENAMES = ("environment.lock.yml", "environment.lock.yaml")
DESCRIPTION = "explicit-1.0 YAML lockfile of the installed packages (sha256, md5, size)"
UNKNOWN_CHANNEL = "<unknown>"


def _error(message: str) -> Exception:
    from conda.exceptions import CondaValueError

    return CondaValueError(redact_text(message))


def _installed(envs: Sequence[Environment]) -> Environment:
    """The one environment read from the prefix, for the prefix's own platform."""
    from conda.base.context import context
    from conda.models.records import PrefixRecord

    if not envs:
        raise _error(f"{FORMAT}: nothing to export")
    for env in envs:
        own = env.platform == context.subdir and all(
            isinstance(r, PrefixRecord) for r in env.explicit_packages
        )
        if not own:
            raise _error(
                f"{FORMAT} exports the packages installed in {env.prefix} ({context.subdir}) "
                f"only; for {env.platform} conda solved the environment again, which is not "
                f"what is installed. Lock several platforms with 'conda env lock -f "
                f"<environment file> --platform {env.platform}'"
            )
    env = envs[0]
    foreign = sorted({r.subdir for r in env.explicit_packages} - {env.platform, "noarch"})
    if foreign:
        raise _error(
            f"{env.prefix} holds {', '.join(foreign)} packages, not {env.platform} ones; "
            f"export it with the platform it was made for (--subdir/CONDA_SUBDIR)"
        )
    return env


def _warn_pip(env: Environment) -> None:
    """Like conda's exporters: pip-installed packages are named, and not in the file."""
    from conda.base.context import context
    from conda.cli.main_export import CondaExportWarning

    pip = list(env.external_packages.get("pip") or ())
    if pip and not context.quiet:
        warnings.warn(
            f"{FORMAT}: {len(pip)} pip-installed package(s) are not in the lockfile "
            f"({', '.join(pip)}); install them again after creating the environment",
            CondaExportWarning,
            stacklevel=2,
        )


def _hashes_of(path: str) -> tuple[str, str, int]:
    sha256, md5 = hashlib.sha256(), hashlib.md5()
    size = 0
    for chunk in iter_chunks(path):
        sha256.update(chunk)
        md5.update(chunk)
        size += len(chunk)
    return sha256.hexdigest(), md5.hexdigest(), size


def _from_cache(rec: PackageRecord, known: dict[str, Any]) -> dict[str, Any]:
    """sha256, md5 and size of ``rec``'s archive from a package cache entry that agrees
    with what is known (its repodata_record.json, else the cached archive's bytes)."""
    from conda.core.package_cache_data import PackageCacheData

    for cached in PackageCacheData.query_all(rec):
        found = {k: cached.get(k, None) for k in ("sha256", "md5", "size")}
        tarball = getattr(cached, "package_tarball_full_path", None)
        if not all(found.values()) and tarball and os.path.isfile(tarball):
            found = dict(zip(("sha256", "md5", "size"), _hashes_of(tarball)))
        if all(known[k] in (None, found[k]) for k in ("sha256", "md5")):
            return {k: known[k] or found[k] for k in found}
    return known


def _complete(rec: PackageRecord) -> dict[str, Any]:
    """The archive's URL, sha256, md5 and size; one line naming the package if unknown."""
    known = {k: rec.get(k, None) or None for k in ("sha256", "md5", "size")}
    if not all(known.values()):
        known = _from_cache(rec, known)
    url = rec.get("url", None)
    base = getattr(rec.channel, "base_url", None)
    if not url and base and rec.subdir and rec.fn:
        url = f"{base.rstrip('/')}/{rec.subdir}/{rec.fn}"  # as conda's explicit exporter does
    missing = [k for k, v in (("url", url), *known.items()) if not v]
    if missing:
        raise _error(
            f"{FORMAT}: {rec.name}-{rec.version}-{rec.build} has no {' or '.join(missing)} in "
            f"conda-meta nor in a package cache; reinstall it "
            f"('conda install --force-reinstall {rec.name}') and export again"
        )
    return {"url": url, **known}


def _channel(rec: PackageRecord) -> str:
    name = getattr(rec.channel, "canonical_name", None) or UNKNOWN_CHANNEL
    return "" if name == UNKNOWN_CHANNEL else redact_url(name)


def _locked(rec: PackageRecord) -> LockedPackage:
    fields = _complete(rec)
    return LockedPackage(
        name=rec.name,
        version=str(rec.version),
        build=str(rec.build),
        subdir=rec.subdir,
        channel=_channel(rec),
        fn=rec.fn,
        url=redact_url(fields["url"]),
        sha256=fields["sha256"],
        md5=fields["md5"],
        size=fields["size"],
        depends=tuple(rec.depends),
    )


def _name(env: Environment) -> str | None:
    """The environment's name; None for one known only by its path."""
    name = env.name
    return name if name and "/" not in name and os.sep not in name else None


def export(env: Environment) -> str:
    """An installed environment as explicit-1.0 text. A single-platform exporter: conda
    refuses several ``--platform`` itself, and one other platform (which conda solves
    anew) is refused here."""
    return _export([env])


def _export(envs: Iterable[Environment]) -> str:
    env = _installed(list(envs))
    _warn_pip(env)
    packages = tuple(install_order(_locked(r) for r in env.explicit_packages))
    channels = tuple(dict.fromkeys(p.channel for p in packages if p.channel))
    lock = Lockfile(
        input_hash=export_input_hash(channels, packages, env.platform),
        channels=channels,
        packages={env.platform: packages},
        name=_name(env),
    )
    return explicit_v1.write(lock)
