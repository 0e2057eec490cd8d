"""Installing a lock's wheels offline, hash-checked, with pip itself.

Two places install them: ``vendor install`` runs pip (:func:`install`) on wheels it has
already copied out of the bundle and checked, and conda's own pip step (``conda env
create``) runs the ``pip:`` lines an environment file or the lockfile specifier gives it
(:func:`pip_lines`). Either way pip is told ``--no-index`` (no index is contacted), is
pointed only at folders of the bundle (``--find-links``) and gets one ``name==version
--hash=sha256:...`` line per wheel, so it runs in hash-checking mode and refuses a
wheel whose bytes are not the locked ones, which conda does not do for conda archives.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable, Sequence
from pathlib import Path

from ..errors import VendorError
from .records import Wheel, normalize

ERROR_LINES = 3  # how many of pip's ERROR lines a failure quotes


class WheelInstallError(VendorError):
    """pip refused or failed to install the locked wheels."""


def projects(wheels: Iterable[Wheel]) -> list[str]:
    """The PEP 503 names of the projects ``wheels`` belong to, sorted, each once."""
    return sorted({normalize(w.name) for w in wheels})


def pip_lines(wheels: Sequence[Wheel], find_links: Iterable[str]) -> list[str]:
    """The lines of a requirements file that installs exactly ``wheels`` from the
    ``find_links`` folders and nothing from any index, every wheel hash-checked."""
    links = [f"--find-links {where}" for where in find_links]
    return ["--no-index", "--require-hashes", *links, *(w.requirement_line for w in wheels)]


def install(pip: Sequence[str], wheels: Sequence[Wheel], folder: Path, work: Path) -> None:
    """Install ``wheels`` (already in ``folder``) with the pip command ``pip`` (e.g.
    ``[PREFIX/bin/python, -m, pip]``): no index, no dependency of its own choosing, no
    configuration of this machine, every hash checked. A failure is one
    :class:`WheelInstallError` quoting pip's own reason."""
    requirements = work / "wheels.txt"
    requirements.write_text("\n".join(w.requirement_line for w in wheels) + "\n", "utf-8")
    command = [
        *pip,
        "install",
        "--isolated",  # no pip.conf, no PIP_* variables of this machine
        "--no-input",
        "--disable-pip-version-check",
        "--no-index",
        "--no-deps",  # the lock is the closure
        "--require-hashes",
        "--find-links",
        str(folder),
        "-r",
        str(requirements),
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    try:
        proc = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    except OSError as e:
        raise WheelInstallError(f"{pip[0]}: cannot run pip: {e.strerror or e}") from None
    if proc.returncode != 0:
        raise WheelInstallError(f"pip refused the locked wheels: {_reason(proc.stderr)}")


def _reason(stderr: str) -> str:
    """pip's ERROR lines (the first few), or its last line when it printed none."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line.removeprefix("ERROR: ") for line in lines if line.startswith("ERROR:")]
    picked = errors[:ERROR_LINES] or lines[-1:] or ["no reason given"]
    return "; ".join(line[:300] for line in picked)
