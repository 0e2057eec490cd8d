"""Rebuild the small demo channel in demo/greet-channel (its output is committed).

    python demo/build_channel.py

The archives are real (.tar.bz2, deterministic bytes) and the repodata is written from
them, with one hotfixed entry (``hello-cli`` 1.0 has an extra constraint in repodata
that its archive does not carry) to show that vendoring keeps upstream's entries.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from tests.support.build import Pkg, build_channel  # noqa: E402

PACKAGES = [
    Pkg("libgreet", "1.2.0", "h0_0", subdir="linux-64", payload_size=2048),
    Pkg("libgreet", "1.2.0", "h1_0", subdir="osx-arm64", payload_size=2048),
    Pkg("libgreet", "1.2.0", "h2_0", subdir="win-64", payload_size=2048),
    Pkg("greet-data", "2024.1", "0", payload_size=4096),
    Pkg("hello-cli", "0.9", "0", depends=["libgreet >=1.0", "greet-data"]),
    Pkg(
        "hello-cli",
        "1.0",
        "0",
        depends=["libgreet >=1.2", "greet-data"],
        extra={"depends": ["libgreet >=1.2,<2", "greet-data"]},  # a repodata hotfix
    ),
]


def main() -> None:
    out = HERE / "greet-channel"
    shutil.rmtree(out, ignore_errors=True)
    build_channel(out, PACKAGES, subdirs=("linux-64", "osx-arm64", "win-64"))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
