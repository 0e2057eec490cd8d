"""URL helpers: strip credentials, split package URLs, name channels.

Credentials appear in conda URLs in two forms: anaconda.org tokens as a
``/t/<token>/`` path segment, and ``user:password@`` in the netloc. Neither may
reach a lockfile, a repodata file, a manifest or a log line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from urllib.parse import unquote, urlsplit, urlunsplit

_TOKEN_SEGMENT = re.compile(r"/t/[^/]+(?=/|$)")
_URL_IN_TEXT = re.compile(r"[a-zA-Z][a-zA-Z0-9+.\-]*://[^\s'\"<>]+")


def redact_url(url: str) -> str:
    """Return ``url`` without ``/t/<token>`` segments and without ``user:pass@``."""
    if "@" not in url and "/t/" not in url:
        return url  # the common case, on the hot path of every locked package
    if url.startswith(("file:", "/", "./", "../", "~")):
        return url  # a local path has no credentials, and a directory may be named 't'
    if "://" not in url:
        return _TOKEN_SEGMENT.sub("", url)
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)[-1]
    path = _TOKEN_SEGMENT.sub("", parts.path)
    return urlunsplit((parts.scheme, netloc, path, parts.query, parts.fragment))


_DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(url: str) -> tuple[str, str, int | None] | None:
    """``(scheme, host, port)`` of ``url`` (default ports filled in), or None when its
    port is not a number."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port or _DEFAULT_PORTS.get(scheme)
    except ValueError:
        return None
    return scheme, (parts.hostname or "").lower(), port


def origin(url: str) -> str:
    """``scheme://host:port`` of ``url`` (default port filled in, no credentials)."""
    parts = _origin(redact_url(url))
    return f"{parts[0]}://{parts[1]}:{parts[2]}" if parts else redact_url(url)


def under_channel(url: str, channel: str) -> bool:
    """Whether ``url`` lies under ``channel``'s base URL: same scheme, host and port, and
    a path that starts with the channel's path at a segment boundary (credentials on
    either side ignored). A path with ``.`` or ``..`` segments (which a client would
    resolve to somewhere else) is under nothing. This is conda's rule for tokens, and
    the one rule deciding where a channel's credentials may go."""
    plain, base = redact_url(url), redact_url(channel).rstrip("/")
    if "://" not in plain or "://" not in base:
        return False
    here, there = _origin(plain), _origin(base)
    if here is None or here != there:
        return False
    path = urlsplit(plain).path
    segments = unquote(path).split("/")
    if any(s in (".", "..") for s in segments):
        return False
    prefix = urlsplit(base).path.rstrip("/") + "/"
    return path.startswith(prefix)


def with_credentials_of(url: str, channel: str) -> str:
    """``url`` with the credentials of ``channel`` (its channel's URL, which may carry a
    ``/t/<token>`` segment and ``user:pass@``) when ``url`` lies under that channel
    (:func:`under_channel`); anywhere else (another host, port or scheme, a path beside
    the channel's, a CEP 15 ``base_url`` on a mirror) ``url`` without any credentials.
    """
    plain = redact_url(url)
    if not under_channel(plain, channel):
        return plain
    base = redact_url(channel).rstrip("/")
    rest = urlsplit(plain)
    tail = rest.path[len(urlsplit(base).path.rstrip("/")) :]
    query = f"?{rest.query}" if rest.query else ""
    return f"{channel.rstrip('/')}{tail}{query}"


def with_userinfo_of(url: str, indexes: Iterable[str]) -> str:
    """``url`` with the ``user:pass@`` of the first of ``indexes`` that carries one and
    has ``url``'s scheme, host and port: pip's rule for a package index, whose files
    live anywhere on its host (``/packages/...``, ``/+f/...``), not under its path.
    Any other ``url`` is returned without credentials."""
    plain = redact_url(url)
    here = _origin(plain)
    for index in indexes:
        userinfo = urlsplit(index).netloc.rpartition("@")
        if userinfo[1] and here is not None and _origin(redact_url(index)) == here:
            parts = urlsplit(plain)
            return parts._replace(netloc=f"{userinfo[0]}@{parts.netloc}").geturl()
    return plain


def has_credentials(url: str) -> bool:
    return redact_url(url) != url


def merged_credentials(urls: Iterable[str]) -> dict[str, str]:
    """``{channel URL without credentials: the URL with them}`` for every channel URL of a
    run (the user's configuration, environment files, lockfiles). A URL that carries
    credentials wins over one that does not, whatever the order: a lockfile (which never
    carries any) cannot erase the credentials the user gave for the same channel."""
    found: dict[str, str] = {}
    for url in urls:
        key = redact_url(url).rstrip("/")
        if key not in found or (has_credentials(url) and not has_credentials(found[key])):
            found[key] = url.rstrip("/")
    return found


def credentialed(url: str, known: Mapping[str, str]) -> str:
    """``url`` with the credentials ``known`` holds for that very channel URL (when it
    has none of its own)."""
    if has_credentials(url):
        return url
    return known.get(redact_url(url).rstrip("/"), url)


FETCHABLE_SCHEMES = ("http", "https", "file")


def archive_url_problem(channel: str, url: str) -> str | None:
    """Why ``url`` may not be fetched as an archive of ``channel``, or None.

    Archives of a remote channel come over http(s) only: a ``file://`` URL there (e.g.
    from a hostile ``info.base_url``) would read this machine's files. A local channel
    may point at local files or at a web server.
    """
    scheme = urlsplit(url).scheme.lower()
    if scheme not in FETCHABLE_SCHEMES:
        return f"its URL scheme {scheme!r} is not one of http, https, file"
    if scheme == "file" and urlsplit(channel).scheme.lower() != "file":
        return "a remote channel may not point at local files (file://)"
    return None


def redact_text(text: str) -> str:
    """Redact every URL found inside a free-form message (for errors and logs)."""
    return _URL_IN_TEXT.sub(lambda m: redact_url(m.group(0)), text)


def is_url(value: str) -> bool:
    return "://" in value


def local_channel_name(channel: str) -> str:
    """A readable directory name for a channel: ``conda-forge`` -> ``local_conda-forge``.

    URL channels are named from their host and path (``https://repo.example/a/b`` ->
    ``local_repo.example_a_b``); credentials never appear in the name.
    """
    if not is_url(channel):
        name = channel
    else:
        parts = urlsplit(redact_url(channel))
        pieces = [parts.netloc] if parts.netloc else []
        pieces += [p for p in parts.path.split("/") if p]
        if parts.scheme == "file" and len(pieces) > 2:
            pieces = pieces[-2:]
        name = "_".join(pieces) or parts.scheme
    name = re.sub(r"[^A-Za-z0-9._\-]+", "_", name).strip("._") or "channel"
    return f"local_{name}"


DEFAULT_CHANNEL_ALIAS = "https://conda.anaconda.org"
DEFAULTS = ("https://repo.anaconda.com/pkgs/main", "https://repo.anaconda.com/pkgs/r")
DEFAULTS_WIN_EXTRA = ("https://repo.anaconda.com/pkgs/msys2",)


def expand_channel(
    channel: str, platform: str, channel_alias: str = DEFAULT_CHANNEL_ALIAS
) -> tuple[str, ...]:
    """The channel URLs one environment-file channel stands for (without conda's config).

    ``defaults`` expands to Anaconda's main and r (and msys2 on Windows); a bare name
    is put under ``channel_alias``; URLs and paths are kept as they are; ``nodefaults``
    stands for nothing.
    """
    if channel == "nodefaults":
        return ()
    if channel == "defaults":
        return DEFAULTS + (DEFAULTS_WIN_EXTRA if platform.startswith("win-") else ())
    if is_url(channel):
        return (channel.rstrip("/"),)
    if channel.startswith(("/", "./", "../", "~")):
        from pathlib import Path

        return (Path(channel).expanduser().resolve().as_uri(),)
    return (f"{channel_alias.rstrip('/')}/{channel.strip('/')}",)
