"""What every lockfile reader checks before an entry becomes a :class:`LockedPackage`.

Lockfiles written by other tools are untrusted input, and their fields later become
file names, directory names and download URLs. One function, :func:`locked_package`,
turns the fields a reader found into a package or one :class:`LockfileError` line that
names the file, the place in it, the package and the problem:

* the URL is ``http``, ``https`` or ``file``; its credentials are dropped;
* the archive name is ``<name>-<version>-<build>.conda`` (or ``.tar.bz2``) and passes
  :func:`~conda_vendor_plugin.records.archive_name_problem`; fields a format leaves out
  are parsed from it, splitting from the right;
* the subdir (given, or the URL's directory) is ``noarch`` or shaped like a platform;
* a sha256 is 64 and an md5 32 **lowercase** hex digits (as CEP 23 and conda's explicit
  parser require; upper case is refused, never folded), and at least one is present.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit

from ..errors import LockfileError, quoted
from ..records import PACKAGE_SUFFIXES, LockedPackage, archive_name_problem
from ..spec import is_subdir
from ..transport.urls import FETCHABLE_SCHEMES, redact_url
from ..yamlfile import load_yaml

SHA256 = re.compile(r"[0-9a-f]{64}")
MD5 = re.compile(r"[0-9a-f]{32}")


def fail(source: str, where: str, what: str) -> LockfileError:
    """The one-line error every reader raises: ``<file>: <place>: <problem>``."""
    return LockfileError(f"{source}: {where}: {what}")


def load_document(text: str, source: str) -> Any:
    """``text`` parsed with the safe YAML loader (aliases and deep nesting refused); a
    syntax error is one :class:`LockfileError` line."""
    return load_yaml(text, source, LockfileError)


def split_archive_name(fn: str) -> tuple[str, str, str] | None:
    """``name``, ``version`` and ``build`` of ``<name>-<version>-<build>.conda``, or None.

    The build follows the last ``-`` and the version the one before it (names may
    contain ``-``, versions and builds may not).
    """
    for suffix in PACKAGE_SUFFIXES:
        if fn.endswith(suffix):
            parts = fn[: -len(suffix)].rsplit("-", 2)
            if len(parts) == 3 and all(parts):
                return parts[0], parts[1], parts[2]
    return None


def stripped(url: str, source: str, where: str) -> str:
    """``url`` without credentials. One too malformed to take apart is refused, unquoted:
    it may hold the very credentials."""
    try:
        return redact_url(url)
    except ValueError as e:
        raise fail(source, where, f"a URL that cannot be parsed ({e})") from None


def shown(value: object) -> str:
    """``value`` quoted for a message, without credentials if it is a URL."""
    if isinstance(value, str):
        try:
            value = redact_url(value)
        except ValueError:
            return "<a URL that cannot be parsed>"
    return quoted(value)


def url_problem(url: str) -> str | None:
    """Why ``url`` may not name an archive to fetch (``http``, ``https``, ``file`` only)."""
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        return "has a control character"
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError as e:
        return f"is not a valid URL ({e})"
    if scheme not in FETCHABLE_SCHEMES:
        return "is not an http, https or file URL"
    return None


def platform_problem(platform: object) -> str | None:
    """Why ``platform`` cannot be a locked platform (a subdir such as linux-64, not noarch)."""
    if not is_subdir(platform) or platform == "noarch":
        return f"{quoted(platform)} is not a platform such as linux-64, osx-arm64 or win-64"
    return None


def check_platform(package: LockedPackage, platform: str, source: str, where: str) -> None:
    """A package listed for ``platform`` must be built for it or be noarch."""
    if package.subdir not in (platform, "noarch"):
        raise fail(
            source,
            where,
            f"package {quoted(package.fn)} is for {package.subdir}, but is listed for {platform}",
        )


def unique(items: Iterable[str]) -> tuple[str, ...]:
    """``items`` without repeats, in first-seen order."""
    return tuple(dict.fromkeys(items))


def string_list(value: Any, source: str, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise fail(source, where, "must be a list of strings")
    return tuple(value)


def hash_problem(value: object, algorithm: str) -> str | None:
    """Why ``value`` is not a ``sha256`` or ``md5`` digest as lockfiles write them."""
    pattern, digits = (SHA256, 64) if algorithm == "sha256" else (MD5, 32)
    if isinstance(value, str) and pattern.fullmatch(value):
        return None
    return f"{algorithm} must be {digits} lowercase hex digits, got {quoted(value)}"


def locked_package(
    source: str,
    where: str,
    url: object,
    *,
    name: Any = None,
    version: Any = None,
    build: Any = None,
    subdir: Any = None,
    channel: Any = None,
    sha256: Any = None,
    md5: Any = None,
    size: Any = None,
    depends: Sequence[str] = (),
    size_only: bool = False,
) -> LockedPackage:
    """A checked package from the fields a reader found; ``None`` means "not given".

    ``url`` is ``<channel>/<subdir>/<file>``, or under a CEP 15 ``base_url``
    ``<base_url>/<file>`` when ``subdir`` (and ``channel``) are given separately.
    ``size_only``: a package with no sha256 and no md5 is accepted (a bundle vendored
    with ``--allow-size-only`` holds such a lockfile).
    """
    if not isinstance(url, str) or not url:
        raise fail(source, where, f"needs the package's URL, got {shown(url)}")
    url = stripped(url, source, where)
    base, _, fn = url.rpartition("/")
    label = f"package {quoted(fn or url)}"
    problem = url_problem(url)
    if problem or not base:
        raise fail(source, where, f"{label}: URL {quoted(url)} {problem or 'names no file'}")
    name, version, build = _identity(fn, name, version, build, source, where, label)
    url_channel, _, url_dir = base.rpartition("/")
    subdir = url_dir if subdir is None else subdir
    if not is_subdir(subdir):
        raise fail(source, where, _subdir_problem(label, subdir, url_dir, given=subdir != url_dir))
    problem = _integrity_problem(sha256, md5, size, size_only)
    if problem:
        raise fail(source, where, f"{label}: {problem}")
    return LockedPackage(
        name=name,
        version=version,
        build=build,
        subdir=subdir,
        channel=_channel(channel, url_channel if url_dir == subdir else base, source, where),
        fn=fn,
        url=url,
        sha256=sha256,
        md5=md5,
        size=size,
        depends=tuple(depends),
    )


def _integrity_problem(
    sha256: object, md5: object, size: object, size_only: bool = False
) -> str | None:
    """What is wrong with the hashes and size a package is verified by, or None."""
    for algorithm, value in (("sha256", sha256), ("md5", md5)):
        problem = None if value is None else hash_problem(value, algorithm)
        if problem:
            return problem
    if sha256 is None and md5 is None and not size_only:
        return "has no sha256 or md5, so it cannot be verified"
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 0):
        return f"size must be a non-negative integer, got {quoted(size)}"
    return None


def _identity(
    fn: str, name: object, version: object, build: object, source: str, where: str, label: str
) -> tuple[str, str, str]:
    parsed = split_archive_name(fn)
    if parsed is None:
        raise fail(
            source,
            where,
            f"{label}: not an archive named <name>-<version>-<build>.conda or .tar.bz2",
        )
    fields = []
    for key, given, derived in zip(("name", "version", "build"), (name, version, build), parsed):
        if given is not None and (not isinstance(given, str) or not given):
            raise fail(
                source, where, f"{label}: {key} must be a non-empty string, got {quoted(given)}"
            )
        fields.append(derived if given is None else given)
    problem = archive_name_problem(fn, *fields)
    if problem:
        raise fail(source, where, f"archive {quoted(fn)} {problem}")
    return fields[0], fields[1], fields[2]


def _subdir_problem(label: str, subdir: object, url_dir: str, given: bool) -> str:
    if given:
        return f"{label}: subdir {quoted(subdir)} is not noarch or a platform such as linux-64"
    return (
        f"{label}: its URL does not name a subdir (<channel>/<subdir>/<file>; "
        f"{quoted(url_dir)} is not noarch or a platform such as linux-64)"
    )


def _channel(given: object, derived: str, source: str, where: str) -> str:
    if given is None:
        return derived
    if not isinstance(given, str) or url_problem(given):
        raise fail(source, where, f"channel {shown(given)} is not an http, https or file URL")
    return stripped(given, source, where).rstrip("/")
