"""The conda side of the commands: ``conda env lock`` (grafted), ``conda vendor`` and, only
where the graft failed, ``conda env-lock``.

conda has no hook for sub-commands of ``conda env``. :func:`graft_env_lock` wraps the
factory conda calls last for ``conda env``'s sub-commands (``conda.cli.main_env_update.
configure_parser``) so that the same sub-parsers also get ``lock``, through argparse's
public ``add_parser``. If conda's internals ever differ it does nothing and logs why, conda
keeps working, and ``conda env-lock`` (a regular plugin sub-command) is offered instead.
"""

from __future__ import annotations

import argparse
import functools
import logging
from typing import Any

from .cli import lock, vendor
from .cli.common import run_command
from .errors import UsageError, VendorError
from .report import error_details, finish
from .transport.urls import redact_text

log = logging.getLogger(__name__)

LOCK_HELP = lock.HELP
_GRAFTED = "_conda_vendor_plugin_grafted"
_added: list[Any] = []  # sub-parsers `lock` was added to (graft_env_lock's probe)


def graft_env_lock() -> bool:
    """Add ``lock`` to ``conda env``; True when conda's ``env`` parser, built the way conda
    builds it, now has ``lock`` (then ``conda env-lock`` is not needed)."""
    try:
        from conda.cli import conda_argparse, main_env_update

        original = main_env_update.configure_parser
        if not getattr(original, _GRAFTED, False):

            def configure_update_and_lock(sub_parsers: Any, **kwargs: Any) -> Any:
                p = original(sub_parsers, **kwargs)
                try:
                    if "lock" not in sub_parsers.choices:
                        add_env_lock(sub_parsers)
                    _added.append(sub_parsers)
                except Exception as e:  # conda must keep working whatever happens here
                    log.debug("conda-vendor-plugin: cannot add 'conda env lock': %s", e)
                return p

            setattr(configure_update_and_lock, _GRAFTED, True)
            main_env_update.configure_parser = configure_update_and_lock
        probe = conda_argparse.ArgumentParser(prog="conda").add_subparsers(dest="cmd")
        _added.clear()
        conda_argparse.BUILTIN_COMMAND_PARSERS["env"](probe)
        return bool(_added)  # the env parser conda builds now has `lock`
    except (Exception, SystemExit) as e:
        log.debug("conda-vendor-plugin: cannot graft 'conda env lock': %s", e)
        return False


def add_env_lock(sub_parsers: Any) -> None:
    """``lock`` among ``conda env``'s sub-parsers."""
    p = sub_parsers.add_parser("lock", help=LOCK_HELP, description=LOCK_HELP)
    configure_lock(p)
    p.set_defaults(func=f"{__name__}.execute_env_lock")


def configure_lock(p: argparse.ArgumentParser) -> None:
    lock.configure(p)


def configure_fallback_parser(p: argparse.ArgumentParser) -> None:
    p.description = LOCK_HELP + " Same as 'conda env lock'."
    lock.configure(p)


def _run(args: argparse.Namespace) -> int:
    from conda.base.context import context

    from .conda_backend import CondaBackend
    from .conda_reporter import CondaReporter

    reporter = CondaReporter()
    args.cvp_locate = locate_in_conda
    try:
        result = run_command(args, CondaBackend, reporter)
    except VendorError as e:
        raise as_conda_error(e) from None
    return finish(args.cvp_command.split()[0], result, reporter, context.json, prog="conda")


def locate_in_conda(name: str) -> str:
    """``-n NAME`` as conda finds it (its envs_dirs); not found: one usage line."""
    from conda.base.context import locate_prefix_by_name
    from conda.exceptions import EnvironmentNameNotFound

    try:
        return locate_prefix_by_name(name)
    except EnvironmentNameNotFound:
        raise UsageError(f"-n {name}: no environment of that name (see 'conda env list')") from None


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
    p.description = vendor.DESCRIPTION
    vendor.configure(p)


def execute_vendor(args: argparse.Namespace) -> int:
    """``conda vendor ...`` and its sub-commands."""
    return _run(args)
