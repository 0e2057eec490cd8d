"""``bundle.sbom``: the CycloneDX 1.6 document of a bundle, as a pure function of its
archives, environments and licenses.

Archives here are real (built by ``tests/support/build.py``: real bytes, real sha256 and
md5, repodata written from them); a token channel is named by URL only (nothing is
fetched, so nothing is faked). Every document is checked with cyclonedx-python-lib's own
strict validator. Bundles written by a real ``vendor`` run are checked in
``test_sbom_verify.py`` and by ``check_manifest`` in every vendor test.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from packageurl import PackageURL

from conda_vendor_plugin.bundle import sbom as sbom_mod
from conda_vendor_plugin.bundle.channels import REPODATA
from conda_vendor_plugin.bundle.outputs import TOOL
from conda_vendor_plugin.bundle.plan import VendoredPackage
from conda_vendor_plugin.bundle.sbom import (
    build_time,
    earlier_time,
    license_of,
    licenses_from_repodata,
    package_url,
    purl,
    sbom_text,
    with_sha256,
)
from conda_vendor_plugin.errors import VendorError
from conda_vendor_plugin.records import LockedPackage
from conda_vendor_plugin.transport.urls import redact_url

from ..support.build import Pkg, build_channel
from ..support.bundles import locked_from_entry
from ..support.vendoring import validate_cyclonedx

WHEN = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
TOKEN = "tk-0f1e2d3c4b5a"
FORGE = "https://conda.anaconda.org/conda-forge"
PRIVATE = f"https://builder:hunter2@repo.example.com/t/{TOKEN}/internal"


def _vendored(channel_dir: Path, upstream: str, local: str) -> list[VendoredPackage]:
    """A VendoredPackage for every entry of a built channel, as a plan makes them (the
    URLs under ``upstream``, credentials and all, to prove they never get through)."""
    found = []
    for rd in sorted(channel_dir.glob(f"*/{REPODATA}")):
        doc = json.loads(rd.read_text())
        for section in ("packages", "packages.conda"):
            for fn, e in doc[section].items():
                subdir = rd.parent.name
                found.append(VendoredPackage(locked_from_entry(upstream, subdir, fn, e), local))
    return found


@pytest.fixture
def bundle(tmp_path: Path) -> tuple[list[VendoredPackage], dict[str, str]]:
    """Archives of two channels (one behind a token and a password), .conda and
    .tar.bz2, and the licenses their entries give."""
    forge = build_channel(
        tmp_path / "forge",
        [
            Pkg("python", "3.12.1", "h2b4f9d8_0_cpython", subdir="linux-64", fmt=".conda"),
            Pkg("zlib", "1.3.1", "hb9d3cd8_2", subdir="linux-64"),
            Pkg("tzdata", "2024a", "h0c530f3_0", fmt=".conda"),
        ],
    )
    private = build_channel(tmp_path / "private", [Pkg("tool", "0.1", "0")])
    archives = _vendored(forge, FORGE, "local_conda-forge")
    archives += _vendored(private, PRIVATE, "local_internal")
    licenses = {vp.relpath: "BSD-3-Clause" for vp in archives}
    return archives, licenses


def _text(archives, licenses, used_by=None, when=WHEN, version="1.2.3") -> str:
    used_by = used_by or {vp.relpath: ["web"] for vp in archives}
    return sbom_text(archives, used_by, licenses, TOOL, version, when)


def _components(text: str) -> dict[str, dict[str, Any]]:
    """Components by their conda-vendor:path property (asserting each path once)."""
    found: dict[str, dict[str, Any]] = {}
    for c in json.loads(text)["components"]:
        (path,) = [p["value"] for p in c["properties"] if p["name"] == "conda-vendor:path"]
        assert path not in found
        found[path] = c
    return found


def test_every_archive_once_valid_cyclonedx_1_6(bundle) -> None:
    archives, licenses = bundle
    text = _text(archives, licenses)
    validate_cyclonedx(text)
    doc = json.loads(text)
    assert (doc["bomFormat"], doc["specVersion"], doc["version"]) == ("CycloneDX", "1.6", 1)
    assert doc["metadata"]["timestamp"] == "2024-05-01T12:00:00+00:00"
    assert doc["metadata"]["tools"]["components"] == [
        {"name": "conda-vendor-plugin", "type": "application", "version": "1.2.3"}
    ]
    assert len(doc["components"]) == len(archives) == 4
    components = _components(text)
    assert set(components) == {vp.relpath for vp in archives}
    for vp in archives:
        c = components[vp.relpath]
        p = vp.package
        assert (c["name"], c["version"], c["type"]) == (p.name, p.version, "library")
        assert c["bom-ref"] == vp.relpath
        assert c["hashes"] == [
            {"alg": "MD5", "content": p.md5},
            {"alg": "SHA-256", "content": p.sha256},
        ]
        assert c["licenses"] == [{"license": {"id": "BSD-3-Clause"}}]
        assert {"name": "conda-vendor:environment", "value": "web"} in c["properties"]


def _library_text(archives, used_by, licenses, tool, version, when) -> str:
    """The same SBOM built as cyclonedx-python-lib's model and written by its own
    ``JsonV1Dot6``: what ``sbom_text`` must write, byte for byte."""
    from cyclonedx.exception.model import InvalidUriException
    from cyclonedx.model import (
        ExternalReference,
        ExternalReferenceType,
        HashAlgorithm,
        HashType,
        Property,
        XsUri,
    )
    from cyclonedx.model.bom import Bom
    from cyclonedx.model.component import Component, ComponentType
    from cyclonedx.output.json import JsonV1Dot6

    bom = Bom(serial_number=sbom_mod._serial(archives, used_by, licenses, tool, version))
    bom.metadata.timestamp = when
    bom.metadata.tools.components.add(
        Component(type=ComponentType.APPLICATION, name=tool, version=version)
    )
    for vp in archives:
        p = vp.package
        hashes = [HashType(alg=HashAlgorithm.SHA_256, content=p.sha256.lower())]
        if p.md5:
            hashes.append(HashType(alg=HashAlgorithm.MD5, content=p.md5.lower()))
        refs = []
        try:
            url = XsUri(redact_url(p.url))
            refs.append(ExternalReference(type=ExternalReferenceType.DISTRIBUTION, url=url))
        except InvalidUriException:
            pass
        found = license_of(licenses.get(vp.relpath))
        properties = [Property(name="conda-vendor:path", value=vp.relpath)]
        properties += [
            Property(name="conda-vendor:environment", value=e)
            for e in set(used_by.get(vp.relpath, ()))
        ]
        component = Component(
            type=ComponentType.LIBRARY,
            name=p.name,
            version=p.version,
            bom_ref=vp.relpath,
            purl=package_url(p),
            hashes=hashes,
            licenses=[found] if found is not None else [],
            external_references=refs,
            properties=properties,
        )
        bom.components.add(component)
    return JsonV1Dot6(bom).output_as_string(indent=1) + "\n"


def _odd(name: str, version: str, subdir: str, channel: str, **fields: Any) -> VendoredPackage:
    fn = f"{name}-{version}-0.conda"
    url = fields.pop("url", f"{channel}/{subdir}/{fn}")
    p = LockedPackage(name, version, "0", subdir, channel, fn, url, sha256="AB" * 32, **fields)
    return VendoredPackage(p, "local_" + channel.rsplit("/", 1)[-1])


ODD = [  # what orders, escapes and omissions can differ
    _odd("zlib", "1.10", "linux-64", FORGE, md5="CD" * 16),
    _odd("zlib", "1.9", "linux-64", FORGE),
    _odd("zlib", "1.9", "osx-64", FORGE),
    _odd("zlib", "1.9", "linux-64", "https://repo.example.com/other"),
    _odd("a b", "1", "noarch", FORGE, url=f"{FORGE}/noarch/a b-1-0.conda"),
    _odd("bad-url", "1", "noarch", FORGE, url="http://bad url%zz/[x]"),
    _odd("ünï", "2.0", "noarch", PRIVATE),
    _odd("Zeta", "1", "noarch", FORGE),
]


@pytest.mark.parametrize(
    "when",
    [WHEN, datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=timezone.utc), build_time()],
    ids=["whole seconds", "microseconds", "now"],
)
def test_the_document_is_the_one_the_library_writes(bundle, when: datetime) -> None:
    archives, licenses = bundle
    archives = archives + ODD
    licenses = {
        **licenses,
        ODD[0].relpath: "GPL-2.0-or-later AND LGPL-2.1-only",  # an expression
        ODD[1].relpath: "Custom license, see LICENSE",  # a name
        ODD[6].relpath: "mit",  # an id, fixed up
    }
    used_by = {vp.relpath: ["web", "ml", "web"][: 1 + i % 3] for i, vp in enumerate(archives)}
    del used_by[ODD[2].relpath]  # used by no environment
    ours = sbom_text(archives, used_by, licenses, TOOL, "1.2.3", when)
    assert ours == _library_text(archives, used_by, licenses, TOOL, "1.2.3", when)
    validate_cyclonedx(ours)
    empty = sbom_text([], {}, {}, TOOL, "1.2.3", when)
    assert empty == _library_text([], {}, {}, TOOL, "1.2.3", when)


def test_purls_follow_the_conda_type_of_the_purl_spec(bundle) -> None:
    archives, licenses = bundle
    components = _components(_text(archives, licenses))
    by_name = {vp.package.name: components[vp.relpath]["purl"] for vp in archives}
    assert by_name["python"] == (
        "pkg:conda/python@3.12.1?build=h2b4f9d8_0_cpython"
        f"&channel={FORGE}&subdir=linux-64&type=conda"
    )
    assert by_name["zlib"] == (
        f"pkg:conda/zlib@1.3.1?build=hb9d3cd8_2&channel={FORGE}&subdir=linux-64&type=tar.bz2"
    )
    for vp in archives:  # the manifest's purl is the SBOM's
        assert purl(vp) == components[vp.relpath]["purl"]
        assert PackageURL.from_string(purl(vp)).qualifiers["subdir"] == vp.package.subdir


def test_the_purl_specs_own_example() -> None:
    """purl-spec types/conda-definition.json: build, channel, subdir and type qualifiers."""
    p = LockedPackage(
        name="absl-py",
        version="0.4.1",
        build="py36h06a4308_0",
        subdir="linux-64",
        channel="main",
        fn="absl-py-0.4.1-py36h06a4308_0.tar.bz2",
        url="https://repo.anaconda.com/pkgs/main/linux-64/absl-py-0.4.1-py36h06a4308_0.tar.bz2",
    )
    assert purl(VendoredPackage(p, "local_main")) == (
        "pkg:conda/absl-py@0.4.1?build=py36h06a4308_0&channel=main&subdir=linux-64&type=tar.bz2"
    )


def test_a_token_channel_is_named_without_its_credentials(bundle) -> None:
    archives, licenses = bundle
    text = _text(archives, licenses)
    for secret in (TOKEN, "hunter2", "builder", "/t/"):
        assert secret not in text
    (tool,) = [c for c in json.loads(text)["components"] if c["name"] == "tool"]
    assert tool["purl"] == (
        "pkg:conda/tool@0.1?build=0&channel=https://repo.example.com/internal"
        "&subdir=noarch&type=tar.bz2"
    )
    assert tool["externalReferences"] == [
        {
            "type": "distribution",
            "url": "https://repo.example.com/internal/noarch/tool-0.1-0.tar.bz2",
        }
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("MIT", {"license": {"id": "MIT"}}),
        ("bsd-3-clause", {"license": {"id": "BSD-3-Clause"}}),  # case fixed, as SPDX allows
        ("  Apache-2.0\n", {"license": {"id": "Apache-2.0"}}),
        ("GPL-2.0-or-later AND (MIT OR BSD-2-Clause)", {"expression": None}),
        ("LGPL-2.1-only WITH Classpath-exception-2.0", {"expression": None}),
        ("BSD 3-Clause", {"license": {"name": None}}),  # common in conda, not SPDX
        ("GPL v3 + custom\x00\x1b[31m", {"license": {"name": None}}),
        ("((( AND OR", {"license": {"name": None}}),
        ("MIT\ud800 ünïcode", {"license": {"name": None}}),  # a lone surrogate, from JSON
        ("MIT " * 5000, {"license": {"name": None}}),  # long: kept, never parsed
        ("", None),
        ("   ", None),
    ],
)
def test_licenses_id_then_expression_then_name_never_an_error(
    bundle, text: str, expected: dict[str, Any] | None
) -> None:
    archives, _ = bundle
    one = archives[:1]
    out = _text(one, {one[0].relpath: text})
    validate_cyclonedx(out)
    (c,) = json.loads(out)["components"]
    if expected is None:
        assert "licenses" not in c
        return
    (got,) = c["licenses"]
    if expected == {"expression": None}:
        assert got == {"expression": text}
    elif expected == {"license": {"name": None}}:
        assert got == {"license": {"name": text.strip()}}
    else:
        assert got == expected


def test_licenses_come_from_the_local_repodata_entries() -> None:
    docs = {
        "local_x/noarch/repodata.json": {
            "packages": {"a-1-0.tar.bz2": {"license": "MIT"}, "b-1-0.tar.bz2": {}},
            "packages.conda": {"c-1-0.conda": {"license": ["not", "text"]}},
        },
        "local_x/linux-64/repodata.json": {"packages.conda": {"d-1-0.conda": {"license": "X"}}},
    }
    assert licenses_from_repodata(docs) == {
        "local_x/noarch/a-1-0.tar.bz2": "MIT",
        "local_x/linux-64/d-1-0.conda": "X",
    }


def test_same_inputs_same_document_but_for_the_timestamp(bundle) -> None:
    archives, licenses = bundle
    first = _text(archives, licenses)
    assert _text(list(reversed(archives)), licenses) == first  # order of the plan: none
    later = _text(archives, licenses, when=datetime(2025, 1, 1, tzinfo=timezone.utc))
    a, b = json.loads(first), json.loads(later)
    assert a["serialNumber"] == b["serialNumber"]
    assert a["serialNumber"].startswith("urn:uuid:")
    a["metadata"].pop("timestamp"), b["metadata"].pop("timestamp")
    assert a == b

    # Anything the document says changes the serial number.
    serials = {a["serialNumber"]}
    changed = [
        _text(archives, licenses, version="1.2.4"),
        _text(archives, {**licenses, archives[0].relpath: "MIT"}),
        _text(archives, licenses, used_by={vp.relpath: ["web", "etl"] for vp in archives}),
        _text(archives[1:], licenses),
    ]
    for text in changed:
        serials.add(json.loads(text)["serialNumber"])
    assert len(serials) == 1 + len(changed)


def test_environments_are_properties_each_once_sorted(bundle) -> None:
    archives, licenses = bundle
    used_by = {vp.relpath: ["web", "etl", "web"] for vp in archives}
    used_by[archives[0].relpath] = ["team/etl"]
    components = _components(_text(archives, licenses, used_by=used_by))
    envs = {
        rel: [p["value"] for p in c["properties"] if p["name"] == "conda-vendor:environment"]
        for rel, c in components.items()
    }
    assert envs.pop(archives[0].relpath) == ["team/etl"]
    assert set(map(tuple, envs.values())) == {("etl", "web")}


def test_an_archive_without_sha256_gets_its_files(bundle, tmp_path: Path) -> None:
    """--allow-size-only: an entry with md5 only (or nothing); the SBOM still gives the
    sha256, of the verified file in the bundle."""
    archives, licenses = bundle
    vp = archives[0]
    root = tmp_path / "OUT"
    (root / vp.local_channel / vp.package.subdir).mkdir(parents=True)
    (root / vp.relpath).write_bytes(b"the archive's bytes")
    bare = replace(vp, package=replace(vp.package, sha256=None))
    (filled,) = with_sha256([bare], root)
    assert filled.package.sha256 == hashlib.sha256(b"the archive's bytes").hexdigest()
    assert with_sha256(archives, root) == archives  # the known ones are not read
    with pytest.raises(ValueError, match="no sha256"):
        _text([bare], licenses)


def test_build_time_honours_source_date_epoch() -> None:
    assert build_time({"SOURCE_DATE_EPOCH": "1700000000"}) == datetime(
        2023, 11, 14, 22, 13, 20, tzinfo=timezone.utc
    )
    before = datetime.now(timezone.utc).replace(microsecond=0)
    now = build_time({})
    assert now.tzinfo is timezone.utc and now.microsecond == 0
    assert before <= now <= datetime.now(timezone.utc)  # the time of the call
    for bad in ("yesterday", "1.5", "9" * 30):
        with pytest.raises(VendorError, match="SOURCE_DATE_EPOCH"):
            build_time({"SOURCE_DATE_EPOCH": bad})


def test_an_earlier_sbom_saying_the_same_gives_its_time(bundle, tmp_path: Path) -> None:
    archives, licenses = bundle
    earlier = datetime(2001, 2, 3, 4, 5, 6, tzinfo=timezone.utc)
    previous = tmp_path / "sbom.cdx.json"
    previous.write_text(_text(archives, licenses, when=earlier))
    now = _text(archives, licenses, when=datetime.now(timezone.utc))
    assert earlier_time(previous, now) == earlier
    assert earlier_time(previous, _text(archives[1:], licenses)) is None  # says otherwise
    assert earlier_time(tmp_path / "absent.json", now) is None

    doc = json.loads(previous.read_text())
    for odd in [
        "{not json",
        "[]",
        json.dumps({**doc, "metadata": {}}),
        json.dumps({**doc, "metadata": {**doc["metadata"], "timestamp": "2001-02-03T04:05:06"}}),
        json.dumps({**doc, "metadata": {**doc["metadata"], "timestamp": 7}}),
    ]:
        previous.write_text(odd)
        assert earlier_time(previous, now) is None, odd
    link = tmp_path / "link.json"
    previous.write_text(_text(archives, licenses, when=earlier))
    link.symlink_to(previous)
    assert earlier_time(link, now) is None  # not followed
