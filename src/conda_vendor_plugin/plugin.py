"""conda plugin hooks. Declarations only: the work lives in modules imported lazily."""

from __future__ import annotations

from collections.abc import Iterator

from conda.plugins import hookimpl
from conda.plugins.types import (
    CondaEnvironmentExporter,
    CondaEnvironmentSpecifier,
    CondaPostCommand,
    CondaPreCommand,
    CondaSubcommand,
    EnvironmentFormat,
)


@hookimpl
def conda_subcommands() -> Iterator[CondaSubcommand]:
    from . import conda_cli

    # conda has no hook for `conda env <sub>`: graft `lock` while conda builds its parser.
    grafted = conda_cli.graft_env_lock()
    yield CondaSubcommand(
        name="vendor",
        summary="Download a solved environment into offline local channels (air gaps).",
        action=conda_cli.execute_vendor,
        configure_parser=conda_cli.configure_vendor,
    )
    if grafted:
        return
    yield CondaSubcommand(  # only where `conda env lock` could not be added
        name="env-lock",
        summary="Write an explicit lockfile for an environment file (same as 'conda env lock').",
        action=conda_cli.execute_fallback,
        configure_parser=conda_cli.configure_fallback_parser,
    )


@hookimpl
def conda_environment_specifiers() -> Iterator[CondaEnvironmentSpecifier]:
    """``conda env create -f x.lock.yml`` / ``conda create --file x.lock.yml``."""
    from . import conda_specifier

    yield CondaEnvironmentSpecifier(
        name=conda_specifier.FORMAT,
        aliases=conda_specifier.ALIASES,
        default_filenames=conda_specifier.DEFAULT_FILENAMES,
        environment_spec=conda_specifier.ExplicitV1Spec,
        description=conda_specifier.DESCRIPTION,
        environment_format=EnvironmentFormat.lockfile,
    )


@hookimpl
def conda_environment_exporters() -> Iterator[CondaEnvironmentExporter]:
    """``conda export --format explicit-1.0`` (or ``--file x.lock.yml``)."""
    from . import conda_exporter

    yield CondaEnvironmentExporter(
        name=conda_exporter.FORMAT,
        aliases=conda_exporter.ALIASES,
        default_filenames=conda_exporter.DEFAULT_FILENAMES,
        export=conda_exporter.export,
        description=conda_exporter.DESCRIPTION,
        environment_format=EnvironmentFormat.lockfile,
    )


@hookimpl
def conda_pre_commands() -> Iterator[CondaPreCommand]:
    """``conda env update -f x.lock.yml`` refuses in one line instead of installing nothing
    (the reader is imported only when conda env update runs)."""

    def note(command: str) -> None:
        from . import conda_specifier

        conda_specifier.note_command(command)

    yield CondaPreCommand(
        name="conda-vendor-plugin-env-update", action=note, run_for={"env_update"}
    )


@hookimpl
def conda_post_commands() -> Iterator[CondaPostCommand]:
    """The wheels of a lockfile conda installed from (``conda env create -f
    environment.lock.yml``), installed by conda's pip step once the conda packages are."""

    def install_wheels(command: str) -> None:
        from . import conda_specifier

        conda_specifier.install_pending_wheels(command)

    yield CondaPostCommand(
        name="conda-vendor-plugin-lockfile-wheels",
        action=install_wheels,
        run_for={"env_create", "create", "install"},
    )
