"""URL helpers: strip credentials, split package URLs, name channels.

Credentials appear in conda URLs in two forms: anaconda.org tokens as a
``/t/<token>/`` path segment, and ``user:password@`` in the netloc. Neither may
reach a lockfile, a repodata file, a manifest or a log line.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

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


def with_credentials_of(url: str, channel: str) -> str:
    """``url`` (credentials stripped) with the credentials of ``channel``, its channel's URL.

    A package URL under its channel gets the channel's own prefix back. One elsewhere
    (CEP 15 ``base_url`` on a mirror or CDN) gets the channel's ``user:pass@`` and
    ``/t/<token>`` segment, as conda does: it assumes the archives share the repodata's
    authentication.
    """
    plain = redact_url(channel).rstrip("/")
    if plain == channel.rstrip("/"):
        return url  # the channel has no credentials
    if url.startswith(plain + "/"):
        return channel.rstrip("/") + url[len(plain) :]
    src, dst = urlsplit(channel), urlsplit(url)
    netloc = dst.netloc
    if "@" in src.netloc and "@" not in netloc:
        netloc = f"{src.netloc.rsplit('@', 1)[0]}@{netloc}"
    path = dst.path
    token = _TOKEN_SEGMENT.search(src.path)
    if token and not _TOKEN_SEGMENT.search(path):
        path = token.group(0) + path
    return urlunsplit((dst.scheme, netloc, path, dst.query, dst.fragment))


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
