"""Telling an explicit-1.0 file by its content (what the conda environment specifier
asks before it reads a file), without conda: ``explicit_v1.claims``."""

from __future__ import annotations

import pytest

from conda_vendor_plugin.formats.explicit_v1 import claims

BLOCK = "metadata:\n  spec: explicit-1.0\n  input_hash: abc\npackages: {}\n"


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(BLOCK, id="block"),
        pytest.param("# a lock\nmetadata:  # ours\n  'spec': \"explicit-1.0\"\n", id="quoted"),
        pytest.param('{"packages": {}, "metadata": {"spec": "explicit-1.0"}}', id="json"),
        pytest.param("metadata: {input_hash: x, spec: explicit-1.0}\n", id="flow"),
    ],
)
def test_an_explicit_v1_file_is_claimed(text: str) -> None:
    assert claims(text.encode(), whole=True)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(
            "name: x\n# spec: explicit-1.0 in a comment\ndependencies: []\n", id="comment"
        ),
        pytest.param("metadata:\n  spec: explicit-2.0\n", id="other-version"),
        pytest.param("other:\n  metadata:\n    spec: explicit-1.0\n", id="not-top-level"),
        pytest.param("metadata:\n  deep:\n    spec: explicit-1.0\n", id="nested-deeper"),
        pytest.param("metadata: [explicit-1.0\n", id="broken-yaml"),
    ],
)
def test_anything_else_is_not(text: str) -> None:
    assert not claims(text.encode(), whole=True)


def test_a_probe_that_did_not_reach_the_end_is_never_parsed() -> None:
    text = "version: 1\nmetadata: {spec: explicit-1.0}\n"
    assert claims(text.encode(), whole=True)
    assert not claims(text.encode(), whole=False)  # flow style needs the whole document
