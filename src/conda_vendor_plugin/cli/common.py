"""Options every command shares, and the one place a command's run is wrapped.

Building a parser imports none of the pipelines (nor ``requests``, ``ruamel.yaml`` or
py-rattler): ``--help`` and ``--version`` stay cheap.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import Interrupted, UsageError, VendorError

if TYPE_CHECKING:
    from ..progress import Reporter
    from ..solve.backend import Backend
    from ..spec import ChannelOverride

DEFAULT_ENV_FILE = "environment.yml"

BackendFactory = Callable[[], "Backend"]
Runner = Callable[[argparse.Namespace, BackendFactory, "Reporter"], dict[str, Any]]


def add_platform_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--platform",
        "--subdir",
        dest="platforms",
        action="append",
        default=[],
        metavar="PLATFORM",
        help="Target platform (conda subdir, e.g. linux-64, osx-arm64, win-64). Repeatable. "
        "Default: the file's 'platforms:' list, else this machine's platform.",
    )


def add_conda_arguments(p: argparse.ArgumentParser) -> None:
    """conda's own flags, meaning what they mean in every conda command: ``-n``/``-p``
    name an installed environment, ``-c``/``--override-channels`` the channels, ``-y``."""
    target = p.add_mutually_exclusive_group()
    target.add_argument(
        "-n", "--name", metavar="ENVIRONMENT", help="An installed environment, by name."
    )
    target.add_argument(
        "-p", "--prefix", metavar="PATH", help="An installed environment, by its path."
    )
    p.add_argument(
        "-c",
        "--channel",
        action="append",
        default=[],
        metavar="CHANNEL",
        help="A channel searched before the environment file's (repeatable); recorded in "
        "the lockfile and its input hash.",
    )
    p.add_argument(
        "--override-channels",
        action="store_true",
        help="Use only the -c channels, not the environment file's.",
    )
    p.add_argument(
        "-y", "--yes", action="store_true", help="Do not ask (accepted; nothing is asked)."
    )
    p.set_defaults(cvp_locate=locate_standalone)


def channel_override(args: argparse.Namespace) -> ChannelOverride:
    from ..spec import ChannelOverride

    return ChannelOverride(tuple(args.channel), bool(args.override_channels))


def installed_prefix(args: argparse.Namespace) -> str | None:
    """The installed environment ``-n NAME`` or ``-p PREFIX`` names, or None. A name is
    looked up by ``args.cvp_locate`` (conda's environment directories)."""
    check_prefix(args)
    if args.name:
        return str(args.cvp_locate(args.name))
    return args.prefix


def locate_standalone(name: str) -> Any:
    from ..installed import locate_by_name

    return locate_by_name(name)


def check_prefix(args: argparse.Namespace) -> None:
    """``-p linux-64`` as the earlier form wrote a platform: one line saying what to write."""
    from ..spec import KNOWN_PLATFORMS

    prefix = args.prefix
    if prefix and prefix in KNOWN_PLATFORMS and not os.path.lexists(prefix):
        raise UsageError(f"-p names a prefix as in conda; for a platform use --platform {prefix}")


def add_solve_arguments(p: argparse.ArgumentParser) -> None:
    """Platforms and how the solve reads its channels."""
    add_platform_argument(p)
    # dest channel_priority and no default, as conda's own options: inside conda, its
    # context takes the value from the parsed arguments like any of its settings.
    p.add_argument(
        "--channel-priority",
        type=_priority,
        default=argparse.SUPPRESS,
        metavar="{strict,flexible,disabled}",
        help="Channel priority of the solve (default: conda's channel_priority setting; "
        "without conda $CONDA_CHANNEL_PRIORITY, else flexible, conda's default).",
    )
    p.add_argument(
        "--strict-channel-priority",
        dest="channel_priority",
        action="store_const",
        const="strict",
        default=argparse.SUPPRESS,
        help="Same as --channel-priority strict.",
    )
    p.add_argument(
        "--offline",
        action="store_true",
        default=argparse.SUPPRESS,  # inside conda, its context takes it as conda's own
        help="Use cached repodata only (inside conda: conda's offline mode).",
    )
    p.add_argument(
        "--ignore-pip-non-wheel",
        dest="skip_non_wheel",
        action="store_true",
        help="Leave out, with a warning, a pip: requirement that cannot be carried as wheels "
        "(editable, VCS, a local path, a project with no wheel for a platform) instead of "
        "refusing; the lockfile and bundle.json list it as not vendored.",
    )
    add_json_argument(p)


def add_json_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="Report as JSON on stdout.")


def _priority(value: str) -> str:
    from ..solve.backend import channel_priority_setting

    try:
        return channel_priority_setting(value, "--channel-priority") or "flexible"
    except UsageError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def add_standalone_arguments(p: argparse.ArgumentParser) -> None:
    """Settings conda's context gives inside conda."""
    p.add_argument(
        "--cache-dir",
        type=Path,
        help="Repodata cache (default: $XDG_CACHE_HOME/conda-vendor-plugin).",
    )
    p.add_argument(
        "--channel-alias",
        help="Base URL for bare channel names (default: https://conda.anaconda.org, "
        "or $CONDA_VENDOR_CHANNEL_ALIAS).",
    )


def staging_kept(args: argparse.Namespace) -> str | None:
    """After Ctrl-C: the staging directory kept for resuming, named; None if there is none."""
    from ..bundle.staging import resolve_output

    try:
        output = resolve_output(Path(args.output))
    except Exception:  # an OUT the run refused: it kept nothing
        return None
    if not output.staging.is_dir() or output.staging.is_symlink():
        return None
    return (
        f"interrupted; {args.output} is as it was; what was downloaded is kept in "
        f"{output.staging} and the same command resumes from it"
    )


def interrupted(args: argparse.Namespace) -> str:
    """What an interrupted run kept for the next one, and where (``args.cvp_kept``: the
    command's own answer, if it keeps anything)."""
    kept = getattr(args, "cvp_kept", None)
    where = kept(args) if kept else None
    if where is None:
        return "interrupted; nothing was written"
    return where


def run_command(
    args: argparse.Namespace, backend_factory: BackendFactory, reporter: Reporter
) -> dict[str, Any]:
    """The command ``args`` names (its ``run``), the same in conda and standalone. Any
    file system error not already explained is one line naming the file."""
    run: Runner = args.cvp_run
    try:
        return run(args, backend_factory, reporter)
    except KeyboardInterrupt:
        raise Interrupted(interrupted(args)) from None
    except OSError as e:
        where = e.filename or "a file"
        raise VendorError(f"{where}: {e.strerror or e}") from None
