"""Local channels hold upstream's own entries, and only for the archives solved for."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conda_vendor_plugin.bundle.channels import repodata_documents
from conda_vendor_plugin.bundle.plan import VendoredPackage
from conda_vendor_plugin.errors import ChannelError
from conda_vendor_plugin.records import LockedPackage, Solution

CHANNEL = "https://conda.example.org/ch"
FN = "a-1.0-0.tar.bz2"
ENTRY = {
    "build": "0",
    "md5": "0" * 32,
    "name": "a",
    "sha256": "ab" * 32,
    "size": 123,
    "version": "1.0",
    "x-hotfix": "kept",
}


def _documents(tmp_path: Path, **solved: object) -> dict:
    """The local repodata for ``a`` as solved with ``solved``'s fields, the upstream file
    listing ``ENTRY`` (written as conda-index writes it)."""
    upstream = tmp_path / "repodata.json"
    doc = {"info": {"subdir": "linux-64"}, "packages": {FN: ENTRY}, "repodata_version": 1}
    upstream.write_text(json.dumps(doc, indent=2, sort_keys=True))
    fields = {"sha256": ENTRY["sha256"], "md5": ENTRY["md5"], "size": ENTRY["size"], **solved}
    p = LockedPackage(
        "a", "1.0", "0", "linux-64", CHANNEL, FN, f"{CHANNEL}/linux-64/{FN}", **fields
    )
    solution = Solution("linux-64", (p,), {(CHANNEL, "linux-64"): upstream})
    vendored = [VendoredPackage(p, "local_ch")]
    return repodata_documents(vendored, [solution], {CHANNEL: "local_ch"}, ["linux-64"])


def test_the_entry_is_copied_as_upstream_wrote_it(tmp_path: Path) -> None:
    docs = _documents(tmp_path, sha256=ENTRY["sha256"].upper())  # case is no difference
    assert docs["local_ch/linux-64/repodata.json"]["packages"] == {FN: ENTRY}


@pytest.mark.parametrize(
    "solved", [{"sha256": "cd" * 32}, {"md5": "1" * 32}, {"size": 124}], ids=lambda d: next(iter(d))
)
def test_an_entry_that_changed_since_the_solve_is_refused(tmp_path: Path, solved: dict) -> None:
    """Another run, or the channel, rewrote the repodata between the solve and the copy:
    the local channel would list an archive other than the one fetched."""
    with pytest.raises(ChannelError) as e:
        _documents(tmp_path, **solved)
    field_name = next(iter(solved))
    assert str(e.value).startswith(f"a-1.0-0: {CHANNEL}/linux-64/repodata.json now lists {FN}")
    assert f"{field_name} {ENTRY[field_name]}" in str(e.value) and "vendor again" in str(e.value)
