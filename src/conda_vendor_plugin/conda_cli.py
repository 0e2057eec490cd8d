"""The conda side of the commands: ``conda env lock`` (grafted) and ``conda env-lock``.

conda has no hook for sub-commands of ``conda env``. :func:`graft_env_lock` wraps
conda's parser factory for ``env`` so that it also adds ``lock``; if conda's
internals ever differ it does nothing and logs why, conda keeps working, and
``conda env-lock`` (a regular plugin sub-command) remains as the documented fallback.
"""

from __future__ import annotations

import argparse
import functools
import logging
from typing import Any

from .cli import configure_lock_parser, configure_vendor_parser, run_command
from .errors import VendorError
from .report import error_details, finish
from .transport.urls import redact_text

log = logging.getLogger(__name__)

LOCK_HELP = "Solve an environment file and write an explicit lockfile (explicit-1.0)."
_GRAFTED = "_conda_vendor_plugin_grafted"


def graft_env_lock() -> bool:
    """Add ``lock`` to ``conda env``; True when it is (or already was) in place."""
    try:
        from conda.cli import conda_argparse

        parsers = conda_argparse.BUILTIN_COMMAND_PARSERS
        original = parsers["env"]
        if getattr(original, _GRAFTED, False):
            return True

        def configure_env_with_lock(sub_parsers: Any, **kwargs: Any) -> Any:
            p = original(sub_parsers, **kwargs)
            try:
                actions = [a for a in p._actions if isinstance(a, argparse._SubParsersAction)]
                if actions and "lock" not in actions[0].choices:
                    lock = actions[0].add_parser("lock", help=LOCK_HELP, description=LOCK_HELP)
                    configure_lock_parser(lock)
                    lock.set_defaults(func=f"{__name__}.execute_env_lock")
            except Exception as e:  # conda must keep working whatever happens here
                log.debug("conda-vendor-plugin: cannot add 'conda env lock': %s", e)
            return p

        setattr(configure_env_with_lock, _GRAFTED, True)
        parsers["env"] = configure_env_with_lock
        return True
    except Exception as e:
        log.debug("conda-vendor-plugin: cannot graft 'conda env lock': %s", e)
        return False


def configure_fallback_parser(p: argparse.ArgumentParser) -> None:
    p.description = LOCK_HELP + " Same as 'conda env lock'."
    configure_lock_parser(p)


def _run(args: argparse.Namespace, command: str = "lock") -> int:
    from conda.base.context import context

    from .conda_backend import CondaBackend
    from .progress import CondaReporter

    reporter = CondaReporter()
    try:
        result = run_command(command, args, CondaBackend, reporter)
    except VendorError as e:
        raise as_conda_error(e) from None
    return finish(command, result, reporter, context.json, prog="conda")


@functools.cache
def _conda_error_type(name: str) -> type:
    from conda import CondaError

    return type(name, (CondaError,), {"__module__": "conda_vendor_plugin.errors"})


def as_conda_error(e: VendorError) -> Exception:
    """``e`` as a conda error of the same name (conda prints it in one line, and its
    ``--json`` document keeps ``exception_name``), exit status and ``details``;
    secrets redacted."""
    err = _conda_error_type(type(e).__name__)(redact_text(str(e)))
    err.return_code = e.exit_code
    for key, value in error_details(e).items():
        setattr(err, key, value)
    return err


def execute_env_lock(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """``conda env lock`` (called by conda's ``do_call``)."""
    return _run(args)


def execute_fallback(args: argparse.Namespace) -> int:
    """``conda env-lock`` (a plugin sub-command; same options)."""
    return _run(args)


def configure_vendor(p: argparse.ArgumentParser) -> None:
    p.description = (
        "Solve an environment file, download every package (verified) and write one "
        "offline local channel per source channel. 'conda vendor verify OUT' re-checks one."
    )
    configure_vendor_parser(p)


def execute_vendor(args: argparse.Namespace) -> int:
    """``conda vendor ENV_FILE`` / ``conda vendor verify OUT``."""
    return _run(args, command="vendor")
