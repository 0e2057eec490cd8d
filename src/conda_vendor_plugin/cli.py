"""Command-line front end shared by conda (``conda env lock``) and ``python -m``.

Argument parsing and reporting only: the pipelines are :mod:`.lock` and :mod:`.vendor`,
and which backend solves is decided by :mod:`.conda_cli` or :func:`main`.

A command imports what it needs when it runs: building the parser, ``--help`` and
``--version`` import none of the pipelines (nor ``requests``, ``ruamel.yaml`` or
py-rattler), which keeps every run's fixed cost small.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__
from .errors import UsageError, VendorError

if TYPE_CHECKING:
    from .lock import LockRequest
    from .progress import Reporter
    from .solve.backend import Backend

DEFAULT_ENV_FILE = "environment.yml"
# lock.FORMATS, spelled out so that building the parser imports no format module
LOCK_FORMATS = ("explicit-1.0", "explicit")


# ------------------------------------------------------------------ parsers


def add_common_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "-p",
        "--platform",
        dest="platforms",
        action="append",
        default=[],
        metavar="PLATFORM",
        help="Target platform (conda subdir, e.g. linux-64, osx-arm64, win-64). Repeatable. "
        "Default: the file's 'platforms:' list, else this machine's platform.",
    )
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
    p.add_argument("--json", action="store_true", help="Report as JSON on stdout.")


def _priority(value: str) -> str:
    from .solve.backend import channel_priority_setting

    try:
        return channel_priority_setting(value, "--channel-priority") or "flexible"
    except UsageError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def configure_lock_parser(p: argparse.ArgumentParser) -> None:
    """Options of ``lock`` (the same in conda and standalone)."""
    p.add_argument(
        "-f",
        "--file",
        default=DEFAULT_ENV_FILE,
        help=f"Environment file to lock (default: {DEFAULT_ENV_FILE}).",
    )
    add_common_arguments(p)
    p.add_argument(
        "--format",
        choices=LOCK_FORMATS,
        default="explicit-1.0",
        help="explicit-1.0: one YAML lockfile for all platforms (default); "
        "explicit: CEP 23 @EXPLICIT text, one file per platform.",
    )
    p.add_argument(
        "-o",
        "--output",
        help="Where to write. explicit-1.0: the lockfile (default: <file stem>.lock.yml "
        "beside the environment file). explicit: a path that may contain {platform} "
        "(default: <file stem>.{platform}.explicit.txt).",
    )
    p.add_argument(
        "--check",
        action="store_true",
        help="Do not solve: exit 0 if the lockfile's input hash matches the environment "
        "file, 1 if it is out of date.",
    )


VERIFY_HELP = (
    "Re-check a bundle (e.g. after carrying it across an air gap): every archive against its "
    "local repodata entry, every other file against manifest.json; report missing, extra, "
    "corrupt and unsafe entries. Reads nothing outside OUT. Exit 0 when all is well, 1 when "
    "anything is wrong."
)


class _VendorHelp(argparse.Action):
    """``-h`` for ``vendor``, and for ``vendor verify`` its own usage (``verify`` is the
    first positional, already parsed when ``-h`` comes after it)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, help="Show this help and exit.")

    def __call__(self, parser: Any, namespace: Any, values: Any, option: Any = None) -> None:
        if (getattr(namespace, "inputs", None) or [None])[0] == "verify":
            verify = argparse.ArgumentParser(
                prog=f"{parser.prog} verify", description=VERIFY_HELP, add_help=False
            )
            verify.add_argument("target", metavar="OUT", help="The bundle to check.")
            verify.add_argument("--json", action="store_true", help="Report as JSON on stdout.")
            verify.add_argument("-h", "--help", action="store_true", help="Show this help.")
            verify.print_help()
        else:
            parser.print_help()
        parser.exit()


def configure_vendor_parser(p: argparse.ArgumentParser) -> None:
    """Options of ``vendor`` (the same in conda and standalone)."""
    try:  # -h/--help (conda's parser or ours) becomes _VendorHelp; argparse internals
        for action in p._actions:
            if isinstance(action, argparse._HelpAction):
                p._handle_conflict_resolve(None, [(o, action) for o in action.option_strings])
        p.add_argument("-h", "--help", action=_VendorHelp)
    except Exception:  # another argparse: 'vendor verify --help' shows vendor's help
        pass
    p.add_argument(
        "inputs",
        nargs="*",
        metavar="ENV_FILE",
        help=f"Environment files to solve and vendor, each an environment of the bundle "
        f"(default: {DEFAULT_ENV_FILE}); a lockfile named here is vendored as it is. Other "
        "forms: 'vendor verify OUT' re-checks a bundle, 'vendor prune OUT --keep N' drops "
        "older versions (--drop NAME: an environment), 'vendor apply DELTA --to BUNDLE' "
        "applies a delta, 'vendor install BUNDLE [ENV] --prefix PREFIX' installs an "
        "environment of a bundle (no conda, no network, every archive's sha256 checked), "
        "'vendor pack OUT -o FILE.tar' writes a bundle as one reproducible tar (which "
        "'vendor verify', 'vendor install' and 'vendor unpack FILE.tar -o DIR' read), "
        "'vendor push OUT oci://HOST/NS' puts a bundle in an OCI registry, 'vendor pull "
        "oci://HOST/NS[:TAG] -o OUT' gets it back.",
    )
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
    p.add_argument(
        "--keep", type=int, metavar="N", help="With 'prune': versions kept per environment."
    )
    p.add_argument(
        "--drop",
        action="append",
        default=[],
        metavar="NAME",
        help="With 'prune': drop this environment (every version) from the bundle. Repeatable.",
    )
    p.add_argument("--to", metavar="BUNDLE", help="With 'apply': the bundle to update.")
    p.add_argument(
        "--ca-cert",
        type=Path,
        metavar="FILE",
        help="With 'push'/'pull': verify the registry's TLS certificate with this CA "
        "(PEM) instead of the system store.",
    )
    p.add_argument(
        "--insecure",
        action="store_true",
        help="With 'push'/'pull': plain http, for a loopback or lab registry only.",
    )
    p.add_argument("--prefix", metavar="PREFIX", help="With 'install': the environment to create.")
    p.add_argument(
        "--version",
        dest="version_id",
        metavar="ID",
        help="With 'install': the version to install (default: the environment's current).",
    )
    add_common_arguments(p)
    p.add_argument(
        "-o",
        "--output",
        help="Output directory (default: ./vendor). With 'pack': the tar to write; with "
        "'unpack': the folder to create.",
    )
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
        "deleted; without --force the run refuses and lists them). With 'install': "
        "replace an existing PREFIX.",
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


# ------------------------------------------------------------------ lock


def lock_request(args: argparse.Namespace) -> LockRequest:
    from .lock import LockRequest

    return LockRequest(
        env_file=args.file,
        platforms=tuple(args.platforms),
        format=args.format,
        output=args.output,
        check=args.check,
    )


# ------------------------------------------------------------------ vendor


def _maintenance(args: argparse.Namespace) -> dict[str, Any] | None:
    """``vendor verify OUT``, ``vendor prune OUT --keep N``, ``vendor apply DELTA --to
    BUNDLE``; None for a vendor run."""
    action, *rest = args.inputs or [None]
    if action in ("push", "pull"):
        return _registry_command(action, rest, args)
    if action == "install":
        return _install(args, rest)
    if action not in ("verify", "prune", "apply", "pack", "unpack"):
        return None
    if len(rest) != 1:
        what = "the delta (DELTA)" if action == "apply" else "the bundle (OUT)"
        what = "the tar (FILE.tar)" if action == "unpack" else what
        raise UsageError(f"vendor {action}: name {what}, once")
    target = Path(rest[0])
    if action in ("pack", "unpack"):
        return _pack(action, target, args.output)
    if action == "verify" and target.is_file():
        from .bundle.unpack import verify_tar

        return verify_tar(target)
    if action == "verify":
        from .bundle.verify import verify_output

        return verify_output(target)
    if action == "prune":
        from .bundle.prune import prune_bundle

        if args.keep is None and not args.drop:
            raise UsageError(
                "vendor prune: say how many versions to keep (--keep N) or which "
                "environments to drop (--drop NAME)"
            )
        return prune_bundle(target, args.keep, tuple(args.drop))
    from .bundle.delta import apply

    if not args.to:
        raise UsageError("vendor apply: name the bundle to update (--to BUNDLE)")
    return apply(target, Path(args.to))


def _registry_command(action: str, rest: list[str], args: argparse.Namespace) -> dict[str, Any]:
    """``vendor push BUNDLE oci://HOST/NS`` and ``vendor pull oci://HOST/NS[:TAG] -o OUT``."""
    from .transport.oci import OciReference, Registry

    if len(rest) != (2 if action == "push" else 1):
        what = "BUNDLE oci://HOST[:PORT]/NAMESPACE" if action == "push" else "oci://HOST/NS[:TAG]"
        raise UsageError(f"vendor {action}: expected {what}")
    if args.insecure and args.ca_cert:
        raise UsageError(
            f"vendor {action}: --insecure (plain http) and --ca-cert exclude each other"
        )
    if args.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    ref = OciReference.parse(rest[-1])
    registry = Registry(ref.netloc, insecure=args.insecure, ca_cert=args.ca_cert)
    if action == "pull":
        from .bundle.pull import pull_bundle

        out = Path(args.output or "vendor")
        return pull_bundle(ref, registry, out, jobs=args.jobs, force=args.force)
    from .bundle.push import push_bundle

    if ref.tag:
        raise UsageError("vendor push: no :TAG; the bundle state names its own tag")
    return push_bundle(Path(rest[0]), ref, registry, jobs=args.jobs)


def _pack(action: str, target: Path, output: str | None) -> dict[str, Any]:
    """``vendor pack BUNDLE -o FILE.tar``, ``vendor unpack FILE.tar -o DIR``."""
    if not output:
        what = "the tar to write (-o FILE.tar)" if action == "pack" else "the folder (-o DIR)"
        raise UsageError(f"vendor {action}: name {what}")
    if action == "pack":
        from .bundle.pack import pack

        return pack(target, Path(output))
    from .bundle.unpack import unpack

    return unpack(target, Path(output))


def _install(args: argparse.Namespace, rest: list[str]) -> dict[str, Any]:
    """``vendor install BUNDLE [ENV] --prefix PREFIX [--version ID] [--force]``."""
    from .bundle.install import InstallRequest, install_environment

    if len(rest) not in (1, 2):
        raise UsageError("vendor install: name the bundle (BUNDLE) and at most one environment")
    if not args.prefix:
        raise UsageError("vendor install: name the environment to create (--prefix PREFIX)")
    return install_environment(
        InstallRequest(
            bundle=Path(rest[0]),
            prefix=Path(args.prefix),
            environment=rest[1] if len(rest) == 2 else None,
            version=args.version_id,
            force=args.force,
        )
    )


def run_vendor_command(
    args: argparse.Namespace, backend_factory: Callable[[], Backend], reporter: Reporter
) -> dict[str, Any]:
    """``vendor [ENV_FILE ... | -f FILE | --lockfile LOCK ...]``, or a maintenance form."""
    from .vendor import VendorOptions, run_vendor

    done = _maintenance(args)
    if done is not None:
        return done
    if args.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    env_files = list(dict.fromkeys([*args.inputs, *args.file]))
    if not env_files and not args.lockfile:
        env_files = [DEFAULT_ENV_FILE]
    opts = VendorOptions(
        output=Path(args.output or "vendor"),
        env_files=tuple(env_files),
        lockfiles=tuple(args.lockfile),
        namespace=args.namespace,
        since=tuple(args.since),
        platforms=tuple(args.platforms),
        jobs=args.jobs,
        dry_run=args.dry_run,
        allow_size_only=args.allow_size_only,
        force=args.force,
        installer_pythons=_installer_pythons(args),
    )
    return run_vendor(opts, backend_factory(), reporter)


def _installer_pythons(args: argparse.Namespace) -> tuple[str, ...]:
    if args.installer_python and not args.with_installer:
        raise UsageError("--installer-python goes with --with-installer")
    if not args.with_installer:
        return ()
    from .bundle.installer import check_pythons

    return check_pythons(args.installer_python)


# ------------------------------------------------------------------ both front ends


def run_command(
    command: str,
    args: argparse.Namespace,
    backend_factory: Callable[[], Backend],
    reporter: Reporter,
) -> dict[str, Any]:
    """``lock`` or ``vendor``, the same in conda and standalone. Any file system error
    not already explained is one line naming the file."""
    try:
        if command == "vendor":
            return run_vendor_command(args, backend_factory, reporter)
        from .lock import run_lock

        return run_lock(lock_request(args), backend_factory, reporter)
    except OSError as e:
        where = e.filename or "a file"
        raise VendorError(f"{where}: {e.strerror or e}") from None


# ------------------------------------------------------------------ standalone main


def build_parser(prog: str = "python -m conda_vendor_plugin") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Lock and vendor conda environments without conda (py-rattler backend).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    lock = sub.add_parser("lock", help="Write an explicit lockfile for an environment file.")
    configure_lock_parser(lock)
    add_standalone_arguments(lock)
    vendor = sub.add_parser(
        "vendor", help="Download a locked environment into offline local channels."
    )
    configure_vendor_parser(vendor)
    add_standalone_arguments(vendor)
    return parser


def add_standalone_arguments(p: argparse.ArgumentParser) -> None:
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


def _env_true(name: str) -> bool:
    """A boolean setting from the environment, as conda reads its ``CONDA_*`` variables."""
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def _prog() -> str:
    """How this was run: the console script by its name, else ``python -m ...``."""
    name = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else ""
    return name if name and name != "__main__.py" else "python -m conda_vendor_plugin"


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser(_prog()).parse_args(argv)
    from .progress import TextReporter
    from .report import emit_json, error_details, finish
    from .transport.urls import redact_text

    reporter = TextReporter(quiet=args.json)

    def backend() -> Backend:
        from .solve.rattler import RattlerBackend

        return RattlerBackend(
            cache_dir=args.cache_dir,
            channel_alias=args.channel_alias,
            offline=getattr(args, "offline", False) or _env_true("CONDA_OFFLINE"),
            channel_priority=getattr(args, "channel_priority", None),
        )

    try:
        result = run_command(args.command, args, backend, reporter)
    except VendorError as e:
        message = redact_text(str(e))
        if args.json:
            doc = {"success": False, "error": message, "error_type": type(e).__name__}
            emit_json({**doc, **error_details(e)})
        else:
            print(f"error: {message}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("interrupted; nothing was written", file=sys.stderr)
        return 130
    return finish(args.command, result, reporter, args.json)
