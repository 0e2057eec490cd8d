"""conda plugin hooks. Declarations only: the work lives in modules imported lazily."""

from __future__ import annotations

from collections.abc import Iterator

from conda.plugins import hookimpl
from conda.plugins.types import CondaSubcommand


@hookimpl
def conda_subcommands() -> Iterator[CondaSubcommand]:
    from . import conda_cli

    # conda has no hook for `conda env <sub>`: graft `lock` while conda builds its parser.
    conda_cli.graft_env_lock()
    yield CondaSubcommand(
        name="vendor",
        summary="Download a solved environment into offline local channels (air gaps).",
        action=conda_cli.execute_vendor,
        configure_parser=conda_cli.configure_vendor,
    )
    yield CondaSubcommand(
        name="env-lock",
        summary="Write an explicit lockfile for an environment file (same as 'conda env lock').",
        action=conda_cli.execute_fallback,
        configure_parser=conda_cli.configure_fallback_parser,
    )
