"""The SBOM of a real bundle (``vendor`` over loopback HTTP, py-rattler) and ``vendor
verify``'s check of it: every archive of the local channels has exactly one component
with its sha256 and purl, and every component names an archive.

Tampering is done the way an attacker who controls the bundle would: the SBOM is edited
and the manifest's record of it updated to match, so that only the SBOM check can tell.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from ..support.build import Pkg, build_channel
from ..support.locking import run_module
from ..support.server import ChannelServer
from ..support.vendoring import (
    archives,
    check_manifest,
    check_sbom,
    load_json,
    snapshot,
    write_env,
)

pytest.importorskip("rattler")

SBOM = "sbom.cdx.json"
A = "local_ch/noarch/a-1.0-0.tar.bz2"
B = "local_ch/linux-64/b-2.0-1.conda"


@pytest.fixture
def out(http_server: ChannelServer, tmp_path: Path, run) -> Path:
    chan = build_channel(
        tmp_path / "served" / "ch",
        [Pkg("a", depends=["b"]), Pkg("b", "2.0", "1", subdir="linux-64", fmt=".conda")],
    )
    entries = load_json(chan / "noarch" / "repodata.json")
    entries["packages"]["a-1.0-0.tar.bz2"]["license"] = "MIT OR Apache-2.0"
    (chan / "noarch" / "repodata.json").write_text(json.dumps(entries))
    env = write_env(tmp_path / "env.yml", [f"{http_server.url}/ch"], ["a"], name="team-env")
    out = tmp_path / "OUT"
    rc, _, stderr = run("vendor", env, "-o", out, "--platform", "linux-64")
    assert rc == 0, stderr
    return out


def _edit_sbom(out: Path, edit) -> None:
    """Edit the SBOM, and the manifest's sha256 and size of it to match (both written
    as vendor writes them)."""
    doc = load_json(out / SBOM)
    edit(doc)
    data = (json.dumps(doc, indent=1) + "\n").encode()
    (out / SBOM).write_bytes(data)
    manifest = load_json(out / "manifest.json")
    (item,) = [f for f in manifest["files"] if f["path"] == SBOM]
    item["sha256"], item["size"] = hashlib.sha256(data).hexdigest(), len(data)
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")


def _component(doc: dict[str, Any], rel: str) -> dict[str, Any]:
    (c,) = [
        c
        for c in doc["components"]
        if {"name": "conda-vendor:path", "value": rel} in c["properties"]
    ]
    return c


def _verify(run, out: Path) -> tuple[int, dict[str, Any]]:
    rc, stdout, stderr = run("vendor", "verify", out, "--json")
    assert "Traceback" not in stderr
    return rc, json.loads(stdout)


def _sbom_findings(doc: dict[str, Any]) -> list[str]:
    return [c for c in doc["corrupt"] if c.startswith(f"{SBOM}:")]


def test_a_vendored_bundle_has_a_valid_sbom_of_its_archives(out: Path, run) -> None:
    doc = check_sbom(out)  # the library's validator; each archive once, true hashes
    manifest = check_manifest(out)
    assert SBOM in {f["path"] for f in manifest["files"]}
    assert set(archives(out)) == {A, B}
    a = _component(doc, A)
    assert a["licenses"] == [{"expression": "MIT OR Apache-2.0"}]
    assert {"name": "conda-vendor:environment", "value": "team-env"} in a["properties"]
    assert _component(doc, B)["purl"].endswith("&subdir=linux-64&type=conda")
    rc, report = _verify(run, out)
    assert rc == 0 and report["problems"] == 0, report


def test_revendoring_the_same_inputs_gives_the_same_sbom_but_its_timestamp(
    out: Path, run, tmp_path: Path
) -> None:
    first = load_json(out / SBOM)
    rc, _, stderr = run(
        "vendor", tmp_path / "env.yml", "-o", tmp_path / "OUT2", "--platform", "linux-64"
    )
    assert rc == 0, stderr
    second = load_json(tmp_path / "OUT2" / SBOM)
    assert first["serialNumber"] == second["serialNumber"]
    first["metadata"].pop("timestamp"), second["metadata"].pop("timestamp")
    assert first == second


def test_revendoring_into_the_same_output_keeps_it_byte_identical(
    out: Path, run, tmp_path: Path, http_server: ChannelServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The SBOM keeps its earlier timestamp while it says the same: here one made long
    ago (as if the clock had moved on), which a run with the same inputs keeps."""
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    _edit_sbom(out, lambda doc: doc["metadata"].update(timestamp="2001-02-03T04:05:06+00:00"))
    before = snapshot(out)
    args = ("vendor", tmp_path / "env.yml", "-o", out, "--platform", "linux-64")
    assert run(*args)[0] == 0
    assert snapshot(out) == before

    # SOURCE_DATE_EPOCH, when set, is the time.
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    assert run(*args)[0] == 0
    assert load_json(out / SBOM)["metadata"]["timestamp"] == "2023-11-14T22:13:20+00:00"
    monkeypatch.delenv("SOURCE_DATE_EPOCH")

    # Something else to say (another environment name): made now.
    write_env(tmp_path / "env.yml", [f"{http_server.url}/ch"], ["a"], name="renamed")
    assert run(*args)[0] == 0
    doc = load_json(out / SBOM)
    assert doc["metadata"]["timestamp"][:4] >= "2025"
    assert {"name": "conda-vendor:environment", "value": "renamed"} in _component(doc, A)[
        "properties"
    ]


def test_source_date_epoch_makes_the_bundle_reproducible(
    http_server: ChannelServer, tmp_path: Path
) -> None:
    build_channel(tmp_path / "served" / "ch", [Pkg("a")])
    env = write_env(tmp_path / "env.yml", [f"{http_server.url}/ch"], ["a"])
    epoch = {"SOURCE_DATE_EPOCH": "1700000000"}
    for name in ("OUT1", "OUT2"):
        proc = run_module("conda_vendor_plugin", "vendor", env, "-o", tmp_path / name, env=epoch)
        assert proc.returncode == 0, proc.stderr
    one, two = (load_json(tmp_path / n / SBOM) for n in ("OUT1", "OUT2"))
    assert one == two and one["metadata"]["timestamp"] == "2023-11-14T22:13:20+00:00"
    assert (tmp_path / "OUT1" / "manifest.json").read_bytes() == (
        tmp_path / "OUT2" / "manifest.json"
    ).read_bytes()

    # A SOURCE_DATE_EPOCH that is no number: one line, before any download.
    http_server.requests.clear()
    bad = {"SOURCE_DATE_EPOCH": "last tuesday"}
    proc = run_module("conda_vendor_plugin", "vendor", env, "-o", tmp_path / "OUT3", env=bad)
    assert proc.returncode == 1
    assert "SOURCE_DATE_EPOCH='last tuesday'" in proc.stderr and "Traceback" not in proc.stderr
    assert not [p for m, p, *_ in http_server.requests if p.endswith(".tar.bz2")]
    assert not (tmp_path / "OUT3").exists()


def test_verify_catches_a_changed_sha256(out: Path, run) -> None:
    def change(doc):
        for h in _component(doc, A)["hashes"]:
            if h["alg"] == "SHA-256":
                h["content"] = "0" * 64

    _edit_sbom(out, change)
    rc, report = _verify(run, out)
    assert rc == 1
    assert _sbom_findings(report) == [
        f"{SBOM}: {A}: sha256 '{'0' * 64}' in the SBOM, the archive's is "
        f"{hashlib.sha256((out / A).read_bytes()).hexdigest()}"
    ]
    assert report["problems"] == 1  # the manifest agrees: only the SBOM check can tell


def test_verify_catches_a_removed_component(out: Path, run) -> None:
    _edit_sbom(out, lambda doc: doc["components"].remove(_component(doc, B)))
    rc, report = _verify(run, out)
    assert rc == 1
    assert _sbom_findings(report) == [f"{SBOM}: {B} has no component"]


def test_verify_catches_an_extra_component(out: Path, run) -> None:
    def add(doc):
        extra = json.loads(json.dumps(_component(doc, A)))
        for p in extra["properties"]:
            if p["name"] == "conda-vendor:path":
                p["value"] = "local_ch/noarch/backdoor-1.0-0.tar.bz2"
        doc["components"].append(extra)
        doc["components"].append(json.loads(json.dumps(_component(doc, B))))  # B twice
        doc["components"].append({"name": "nameless", "properties": []})

    _edit_sbom(out, add)
    rc, report = _verify(run, out)
    assert rc == 1
    assert sorted(_sbom_findings(report)) == sorted(
        [
            f"{SBOM}: components[2] names 'local_ch/noarch/backdoor-1.0-0.tar.bz2', which is "
            f"not an archive of the bundle's local channels nor a wheel it carries",
            f"{SBOM}: {B} has more than one component",
            f"{SBOM}: components[4] has no single conda-vendor:path property",
        ]
    )


def test_verify_catches_a_purl_naming_another_package(out: Path, run) -> None:
    def retarget(doc):
        c = _component(doc, A)
        c["purl"] = c["purl"].replace("pkg:conda/a@1.0", "pkg:conda/a@9.9")

    _edit_sbom(out, retarget)
    rc, report = _verify(run, out)
    assert rc == 1
    (finding,) = _sbom_findings(report)
    assert finding.startswith(f"{SBOM}: {A}: purl 'pkg:conda/a@9.9?")
    assert finding.endswith("does not name a-1.0-0.tar.bz2 (noarch)")


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("{not json", "is not valid JSON"),
        ("[" * 100_000 + "]" * 100_000, "is not valid JSON"),
        ('{"bomFormat": "SPDX"}', "not a CycloneDX document"),
        ('{"bomFormat": "CycloneDX", "specVersion": "1.2"}', "specVersion '1.2', expected 1.6"),
        ('{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": {}}', "not a list"),
        (
            '{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [7, {"properties": 7},'
            ' {"properties": [{"name": "conda-vendor:path", "value": "../../etc/passwd"}]}]}',
            "components[2] names '../../etc/passwd', which is not an archive",
        ),
    ],
)
def test_a_malformed_sbom_is_one_line_never_a_crash(
    out: Path, run, content: str, says: str
) -> None:
    (out / SBOM).write_text(content)
    rc, report = _verify(run, out)
    assert rc == 1
    findings = _sbom_findings(report)
    assert any(says in f for f in findings), report
    assert all("\n" not in f for f in findings)


def test_a_missing_sbom_is_reported(out: Path, run) -> None:
    """Even when the manifest no longer lists it: every bundle has one."""
    (out / SBOM).unlink()
    manifest = load_json(out / "manifest.json")
    manifest["files"] = [f for f in manifest["files"] if f["path"] != SBOM]
    (out / "manifest.json").write_text(json.dumps(manifest))
    rc, report = _verify(run, out)
    assert rc == 1 and report["missing"] == [SBOM]


def test_a_corrupt_archive_is_one_finding_not_two(out: Path, run) -> None:
    """The SBOM is compared with what the archive must be (its entry), so a changed
    archive is reported once, as corrupt, and the SBOM stays right."""
    data = bytearray((out / A).read_bytes())
    data[50] ^= 0x01
    (out / A).write_bytes(bytes(data))
    rc, report = _verify(run, out)
    assert rc == 1 and report["problems"] == 1
    assert report["corrupt"][0].startswith(f"{A}: sha256 ")


def test_size_only_archives_get_the_sha256_of_their_file(
    http_server: ChannelServer, tmp_path: Path, run
) -> None:
    """--allow-size-only: the entry has no hash; the SBOM has the archive's sha256 all the
    same, and verify hashes the file to check it."""
    chan = build_channel(tmp_path / "served" / "ch", [Pkg("a")])
    rd = load_json(chan / "noarch" / "repodata.json")
    del rd["packages"]["a-1.0-0.tar.bz2"]["sha256"], rd["packages"]["a-1.0-0.tar.bz2"]["md5"]
    (chan / "noarch" / "repodata.json").write_text(json.dumps(rd))
    env = write_env(tmp_path / "env.yml", [f"{http_server.url}/ch"], ["a"])
    out = tmp_path / "OUT"
    rc, _, stderr = run("vendor", env, "-o", out, "--platform", "linux-64", "--allow-size-only")
    assert rc == 0, stderr
    check_sbom(out)  # the true sha256, and no MD5 (the entry gives none)
    assert _verify(run, out)[0] == 0

    def change(doc):
        (h,) = _component(doc, A)["hashes"]
        h["content"] = "f" * 64

    _edit_sbom(out, change)
    rc, report = _verify(run, out)
    assert rc == 1 and len(_sbom_findings(report)) == 1
