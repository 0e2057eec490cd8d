"""The fault suite: hostile channels, hostile bundles, faults, concurrent runs."""

from __future__ import annotations

import pytest

from conda_vendor_plugin import cli


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]):
    """``python -m conda_vendor_plugin ARGS`` in-process: (exit status, stdout, stderr)."""

    def call(*argv: object) -> tuple[int, str, str]:
        capsys.readouterr()
        rc = cli.main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return rc, out, err

    return call
