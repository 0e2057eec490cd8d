"""``vendor``: solve (or read lockfiles), download and write a bundle; and the door to
its sub-commands (``vendor verify|prune|apply ...``).

``vendor ENV_FILE...`` must keep vendoring while ``vendor verify OUT`` runs a
sub-command, which argparse's sub-parsers cannot say (a positional that is not a
command name would be refused). So the first positional word and everything after it
go to :class:`CommandOrFiles`, an ordinary ``argparse.Action``: a command name hands the
rest to that command's own parser (own usage, help and options); anything else is a
plain vendor run, parsed by the vendor options again with the environment files.
"""

from __future__ import annotations

import argparse
import difflib
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from ..errors import UsageError
from . import apply, install, pack, prune, pull, push, unpack, verify
from .common import (
    DEFAULT_ENV_FILE,
    BackendFactory,
    add_conda_arguments,
    add_solve_arguments,
    channel_override,
    installed_prefix,
    staging_kept,
)

OptionAdder = Callable[[argparse.ArgumentParser], None]

if TYPE_CHECKING:
    from ..progress import Reporter

HELP = "Download a locked environment into offline local channels."
DESCRIPTION = (
    "Solve environment files (or take lockfiles as they are), download every package "
    "(verified) and write one offline local channel per source channel."
)

# Sub-commands of vendor, each a module with NAME, HELP, configure(parser), run(...).
COMMANDS: dict[str, ModuleType] = {
    m.NAME: m for m in (verify, prune, apply, install, pack, unpack, push, pull)
}


def configure(
    p: argparse.ArgumentParser,
    commands: Mapping[str, ModuleType] = COMMANDS,
    more: Sequence[OptionAdder] = (),
) -> None:
    """``vendor``'s options and its sub-commands (the same in conda and standalone);
    ``more`` adds options of one front end (standalone: ``--cache-dir``, ...)."""
    if not p.description:
        p.description = DESCRIPTION
    listed = "\n".join(f"  {name:8} {module.SUMMARY}" for name, module in commands.items())
    p.epilog = f"commands:\n{listed}\n\n'{p.prog} COMMAND --help' shows a command's options."
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    for add in (add_vendor_options, *more):
        add(p)
    p.add_argument(
        "cvp_words",
        action=CommandOrFiles,
        commands=commands,
        more=more,
        metavar=f"{{{','.join(commands)}}} ... | ENV_FILE",
        help=f"A command (its options follow it), or environment files to solve and vendor, "
        f"each an environment of the bundle (default: {DEFAULT_ENV_FILE}); a lockfile named "
        "here is vendored as it is.",
    )
    p.set_defaults(cvp_run=run, cvp_command="vendor", cvp_kept=staging_kept, inputs=[])


def add_vendor_options(p: argparse.ArgumentParser) -> None:
    """The options of a plain vendor run (none of a sub-command's)."""
    p.add_argument(
        "-f",
        "--file",
        action="append",
        default=[],
        help="Environment file to solve and vendor (repeatable; same as ENV_FILE).",
    )
    p.add_argument(
        "--lockfile",
        action="append",
        default=[],
        metavar="LOCK",
        help="Vendor exactly what LOCK pins, with no solve: explicit-1.0, CEP 23 @EXPLICIT, "
        "conda-lock.yml (v1) or pixi.lock (v6, v7). Repeatable for several files of one "
        "environment (CEP 23 is one file per platform).",
    )
    p.add_argument(
        "--namespace",
        metavar="NS",
        help="Put this run's environments under envs/NS/ (as conda-store namespaces them).",
    )
    p.add_argument(
        "--since",
        action="append",
        default=[],
        metavar="PREVIOUS",
        help="Write a delta: leave out every archive PREVIOUS (a bundle, or its "
        "manifest.json) holds; 'vendor apply' merges it into that bundle. Repeatable.",
    )
    add_solve_arguments(p)
    p.add_argument("-o", "--output", default="vendor", help="Output directory (default: ./vendor).")
    p.add_argument("-j", "--jobs", type=int, default=8, help="Parallel downloads (default: 8).")
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="Solve (or check the lockfile) and list what would be fetched, per channel; "
        "write nothing.",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="Replace OUT even if it holds files conda vendor did not write (they are "
        "deleted; without --force the run refuses and lists them).",
    )
    p.add_argument(
        "--with-installer",
        action="store_true",
        help="Add install.sh, install.ps1 and the wheels of this tool and its dependencies "
        "(for the bundle's platforms) so that a machine with only Python >= 3.10 can run "
        "'vendor install'; pip's configuration says where the wheels come from.",
    )
    p.add_argument(
        "--installer-python",
        action="append",
        default=[],
        metavar="X.Y",
        help="With --with-installer: a Python version to fetch wheels for (repeatable; "
        "default 3.10, 3.11, 3.12, 3.13).",
    )
    p.add_argument(
        "--allow-size-only",
        action="store_true",
        help="Vendor archives whose repodata entry gives a size but no sha256 or md5 "
        "(refused by default); the manifest marks them verified_by: size.",
    )
    add_conda_arguments(p)


class CommandOrFiles(argparse.Action):
    """The first positional word and all after it: ``COMMAND ARGS...`` (parsed by that
    command's parser) or ``ENV_FILE... [vendor options]`` (parsed by vendor's again)."""

    def __init__(
        self,
        option_strings: Sequence[str],
        dest: str,
        commands: Mapping[str, ModuleType],
        more: Sequence[OptionAdder] = (),
        **kwargs: Any,
    ) -> None:
        kwargs.pop("nargs", None)
        kwargs.pop("required", None)  # `vendor` alone vendors environment.yml
        super().__init__(option_strings, dest, nargs=argparse.PARSER, required=False, **kwargs)
        self.commands, self.more = commands, more

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        word, *rest = values
        module = self.commands.get(word)
        if module is None:
            _check_not_a_mistyped_command(parser, word, self.commands)
            files = argparse.ArgumentParser(
                prog=parser.prog,
                description=parser.description,
                epilog=parser.epilog,
                formatter_class=argparse.RawDescriptionHelpFormatter,
            )
            for add in (add_vendor_options, *self.more):
                add(files)
            files.add_argument("inputs", nargs="*", metavar="ENV_FILE")
            files.parse_args(values, namespace)
            return
        _check_nothing_before(parser, namespace, module.NAME)
        command = argparse.ArgumentParser(
            prog=f"{parser.prog} {module.NAME}", description=module.HELP
        )
        module.configure(command)
        command.set_defaults(
            cvp_run=module.run,
            cvp_command=f"vendor {module.NAME}",
            cvp_kept=getattr(module, "kept", None),
        )
        # a fresh namespace: the command's defaults, not vendor's for a shared name
        fresh = argparse.Namespace(json=getattr(namespace, "json", False))
        parsed = command.parse_args(rest, fresh)
        for dest, value in vars(parsed).items():
            setattr(namespace, dest, value)


def _check_not_a_mistyped_command(
    parser: argparse.ArgumentParser, word: str, commands: Mapping[str, ModuleType]
) -> None:
    """A first word that is no file and reads like a command name is a usage error."""
    if os.path.lexists(word) or os.sep in word or "/" in word or "." in word:
        return
    close = difflib.get_close_matches(word, list(commands), n=1)
    hint = f"did you mean '{close[0]}'?" if close else f"commands: {', '.join(commands)}"
    parser.error(f"unknown command '{word}'; {hint}")


def _check_nothing_before(
    parser: argparse.ArgumentParser, namespace: argparse.Namespace, name: str
) -> None:
    """Vendor options written before a command's name are not the command's: refused."""
    probe = argparse.ArgumentParser(add_help=False)
    add_vendor_options(probe)
    defaults = vars(probe.parse_args([]))
    given = sorted(
        dest
        for dest, default in defaults.items()
        if dest != "json" and getattr(namespace, dest, default) != default
    )
    if given:
        parser.error(
            f"vendor options before '{name}' ({', '.join(given)}) are not {name}'s; "
            f"see '{parser.prog} {name} --help'"
        )


def _installer_pythons(args: argparse.Namespace) -> tuple[str, ...]:
    if args.installer_python and not args.with_installer:
        raise UsageError("--installer-python goes with --with-installer")
    if not args.with_installer:
        return ()
    from ..bundle.installer import check_pythons

    return check_pythons(args.installer_python)


def run(args: argparse.Namespace, backend_factory: BackendFactory, reporter: Reporter) -> Any:
    """``vendor [ENV_FILE ... | -f FILE | --lockfile LOCK ...]``."""
    from ..vendor import VendorOptions, run_vendor

    prefix = installed_prefix(args)
    if args.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    env_files = list(dict.fromkeys([*args.inputs, *args.file]))
    if not env_files and not args.lockfile and not prefix:
        env_files = [DEFAULT_ENV_FILE]
    opts = VendorOptions(
        output=Path(args.output),
        env_files=tuple(env_files),
        lockfiles=tuple(args.lockfile),
        namespace=args.namespace,
        since=tuple(args.since),
        platforms=tuple(args.platforms),
        jobs=args.jobs,
        dry_run=args.dry_run,
        allow_size_only=args.allow_size_only,
        skip_non_wheel=args.skip_non_wheel,
        force=args.force,
        channels=channel_override(args),
        prefixes=(prefix,) if prefix else (),
        installer_pythons=_installer_pythons(args),
    )
    return run_vendor(opts, backend_factory(), reporter)
