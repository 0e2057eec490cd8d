"""Exceptions: every user-facing failure is one of these, with a one-line message."""

from __future__ import annotations

QUOTE_LIMIT = 120


def quoted(value: object, limit: int = QUOTE_LIMIT) -> str:
    """``repr(value)`` cut to about ``limit`` characters: untrusted input quoted in a
    message can neither carry control characters nor make the message huge."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 20]}...({len(text)} chars)"


class VendorError(Exception):
    """Base class. ``str(err)`` is the one line shown to the user; ``exit_code`` the status;
    ``details`` more for the ``--json`` error document (e.g. every failed download)."""

    exit_code = 1
    details: dict[str, object] | None = None


class UsageError(VendorError):
    """The command line asks for something that cannot be done (exit status 2, as
    argparse's own usage errors)."""

    exit_code = 2


class SpecError(VendorError):
    """The environment file is missing, unreadable or malformed."""


class LockfileError(VendorError):
    """A lockfile is missing, unreadable or does not follow its schema."""


class SolveError(VendorError):
    """The solver found no solution; the message carries its explanation."""


class ChannelError(VendorError):
    """A channel or its repodata could not be fetched or read."""


class BackendUnavailable(VendorError):
    """The requested solver backend cannot be imported here."""


class DownloadError(VendorError):
    """A package could not be fetched or did not verify."""


class Interrupted(VendorError):
    """Ctrl-C: the message says what was kept for the next run, and where (exit 130, as
    a shell reports SIGINT)."""

    exit_code = 130


class StaleLockfile(VendorError):
    """``--check``: the lockfile does not match the environment file."""


class PypiError(VendorError):
    """A ``pip:`` requirement cannot be resolved or vendored (an sdist-only project, an
    editable, VCS or local requirement, a conflict with the conda solve)."""


class RegistryError(VendorError):
    """An OCI registry refused, failed or answered something that does not verify."""
