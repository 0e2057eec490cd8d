"""Helpers for the ``vendor`` tests: environment files, output snapshots and checks.

Nothing here fakes anything: the checks read the vendored output and compare it with
the served upstream channel files byte for byte and value for value.
"""

from __future__ import annotations

import bz2
import hashlib
import io
import json
import os
import tarfile
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any


def write_env(
    path: Path, channels: Sequence[str], deps: Sequence[str], name: str | None = "vendored"
) -> Path:
    lines = [f"name: {name}"] if name else []
    lines += ["channels:", *(f"  - {c}" for c in channels), "dependencies:"]
    lines += [f"  - {d}" for d in deps]
    path.write_text("\n".join(lines) + "\n")
    return path


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (relative POSIX path -> bytes); a symbolic link (the
    bundle's ``current`` pointers) as ``b"-> <target>"``, never followed."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        base = Path(dirpath)
        for name in filenames + dirnames:
            path = base / name
            rel = path.relative_to(root).as_posix()
            if path.is_symlink():
                found[rel] = b"-> " + os.readlink(path).encode()
            elif path.is_file():
                found[rel] = path.read_bytes()
    return dict(sorted(found.items()))


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def archives(out: Path) -> dict[str, Path]:
    """Every archive under ``out`` (relative path -> path)."""
    return {
        p.relative_to(out).as_posix(): p
        for p in sorted(out.rglob("*"))
        if p.is_file() and p.name.endswith((".conda", ".tar.bz2"))
    }


def load_json(path: Path) -> Any:
    return json.loads(path.read_text())


def check_local_channel(
    local: Path, upstream: Path, platforms: Iterable[str], archives_at: Path | None = None
) -> int:
    """Assert ``local`` (OUT/local_x) is a faithful subset of ``upstream`` (a channel dir).

    ``archives_at``: where upstream keeps its archives, one flat directory, when they do
    not sit beside its repodata (CEP 15 ``base_url``).

    * ``noarch`` and every target platform have a ``repodata.json``;
    * ``info`` is upstream's without ``base_url``; ``repodata_version`` is upstream's;
    * every entry equals upstream's entry (as JSON values) in the same section, and
      ``.tar.bz2`` archives are under ``packages``, ``.conda`` under ``packages.conda``;
    * every listed archive is present, byte-identical to upstream's;
    * no archive is present that is not listed.

    Returns the number of archives checked.
    """
    count = 0
    subdirs = {p.name for p in local.iterdir() if p.is_dir()}
    assert {"noarch", *platforms} <= subdirs, f"{local}: subdirs {sorted(subdirs)}"
    for sd in sorted(subdirs):
        doc = load_json(local / sd / "repodata.json")
        up_path = upstream / sd / "repodata.json"
        up = load_json(up_path) if up_path.is_file() else {}
        expected_info = {k: v for k, v in (up.get("info") or {}).items() if k != "base_url"}
        expected_info["subdir"] = sd
        assert doc["info"] == expected_info
        assert "base_url" not in doc["info"]
        assert doc["repodata_version"] == up.get("repodata_version", 1)
        assert set(doc) >= {"packages", "packages.conda"}
        assert all(fn.endswith(".tar.bz2") for fn in doc["packages"]), doc["packages"].keys()
        assert all(fn.endswith(".conda") for fn in doc["packages.conda"])
        listed = set()
        for section in ("packages", "packages.conda"):
            for fn, entry in doc[section].items():
                assert entry == up[section][fn], f"{local.name}/{sd}/{fn} differs from upstream"
                data = (local / sd / fn).read_bytes()
                assert data == ((archives_at or upstream / sd) / fn).read_bytes()
                assert len(data) == entry["size"] and sha256(data) == entry["sha256"]
                listed.add(fn)
                count += 1
        present = {p.name for p in (local / sd).iterdir()} - {"repodata.json"}
        assert present == listed, f"{local.name}/{sd}: unlisted files {present - listed}"
    return count


def check_manifest(out: Path, secrets: Sequence[str] = ()) -> dict[str, Any]:
    """Assert manifest.json lists every other file of ``out`` with its true size and
    sha256, archives with a url and a purl, and that no secret appears in it."""
    text = (out / "manifest.json").read_text()
    for s in secrets:
        assert s not in text
        for other in out.rglob("*"):  # bundle.json, lockfiles, env files, repodata, ...
            if other.is_file() and not other.name.endswith((".conda", ".tar.bz2")):
                assert s.encode() not in other.read_bytes(), other
    doc = json.loads(text)
    assert doc["tool"]["name"] == "conda-vendor-plugin"
    files = {f["path"]: f for f in doc["files"]}
    assert len(files) == len(doc["files"])  # each file once
    on_disk = set(snapshot(out)) - {"manifest.json"}
    assert set(files) == on_disk
    for rel, item in files.items():
        if "link" in item:
            assert os.readlink(out / rel) == item["link"], rel
            continue
        data = (out / rel).read_bytes()
        assert item["size"] == len(data), rel
        assert item["sha256"] == sha256(data), rel
        if rel.endswith((".conda", ".tar.bz2")):
            subdir, fn = rel.split("/")[-2:]
            assert item["url"].startswith(("http://", "https://", "file://"))
            assert item["url"].endswith(f"/{fn}")  # under base_url, not always /{subdir}/
            assert "@" not in item["url"].split("://", 1)[1].split("/", 1)[0]
            assert "/t/" not in item["url"]
            assert item["purl"].startswith("pkg:conda/")
            assert f"subdir={subdir}" in item["purl"]
            kind = "conda" if fn.endswith(".conda") else "tar.bz2"
            assert item["purl"].endswith(f"type={kind}")
        else:
            assert "url" not in item and "purl" not in item
    assert "sbom.cdx.json" in files  # listed like every other output
    check_sbom(out, secrets)
    return doc


def validate_cyclonedx(text: str) -> None:
    """Assert ``text`` is valid CycloneDX 1.6 JSON, by cyclonedx-python-lib's own strict
    validator (the JSON schema, no unknown properties)."""
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)
    assert error is None, error


def check_sbom(out: Path, secrets: Sequence[str] = ()) -> dict[str, Any]:
    """Assert sbom.cdx.json is valid CycloneDX 1.6 and lists every archive of ``out``
    exactly once, with its true sha256 and md5, a purl naming it, its repodata entry's
    license, and no secret."""
    from packageurl import PackageURL

    text = (out / "sbom.cdx.json").read_text()
    for s in secrets:
        assert s not in text
    validate_cyclonedx(text)
    doc = json.loads(text)
    assert doc["specVersion"] == "1.6"
    (tool,) = doc["metadata"]["tools"]["components"]
    assert tool["name"] == "conda-vendor-plugin"
    by_path: dict[str, dict[str, Any]] = {}
    for c in doc["components"]:
        (path,) = [p["value"] for p in c["properties"] if p["name"] == "conda-vendor:path"]
        assert path not in by_path, f"{path}: listed twice"
        by_path[path] = c
    assert set(by_path) == set(archives(out))
    for rel, c in by_path.items():
        local, subdir, fn = rel.split("/")
        rd = load_json(out / local / subdir / "repodata.json")
        entry = rd["packages.conda" if fn.endswith(".conda") else "packages"][fn]
        data = (out / rel).read_bytes()
        hashes = {h["alg"]: h["content"] for h in c["hashes"]}
        assert hashes["SHA-256"] == sha256(data)
        assert hashes.get("MD5") == (hashlib.md5(data).hexdigest() if "md5" in entry else None)
        p = PackageURL.from_string(c["purl"])
        kind = "conda" if fn.endswith(".conda") else "tar.bz2"
        assert (p.type, p.name, p.version) == ("conda", entry["name"], entry["version"])
        q = p.qualifiers
        assert isinstance(q, dict) and q["channel"]
        assert (q["build"], q["subdir"], q["type"]) == (entry["build"], subdir, kind)
        assert (c["name"], c["version"]) == (entry["name"], entry["version"])
        assert bool(c.get("licenses")) == bool(entry.get("license"))
        envs = [p["value"] for p in c["properties"] if p["name"] == "conda-vendor:environment"]
        assert envs, rel
    return doc


def archive_index_json(path: Path) -> dict[str, Any]:
    """``info/index.json`` read out of a real ``.tar.bz2`` or ``.conda`` archive."""
    data = path.read_bytes()
    if path.name.endswith(".tar.bz2"):
        with tarfile.open(fileobj=io.BytesIO(bz2.decompress(data))) as tf:
            member = tf.extractfile("info/index.json")
            assert member is not None
            return json.loads(member.read())
    from .zstd import zstd

    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        (info,) = [n for n in zf.namelist() if n.startswith("info-")]
        raw = zstd.decompress(zf.read(info))
    with tarfile.open(fileobj=io.BytesIO(raw)) as tf:
        member = tf.extractfile("info/index.json")
        assert member is not None
        return json.loads(member.read())


def set_repodata_info(channel: Path, subdir: str, **info: Any) -> None:
    """Add fields to ``info`` of a served (copied or built) channel's repodata."""
    path = channel / subdir / "repodata.json"
    doc = load_json(path)
    doc.setdefault("info", {}).update(info)
    path.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")


def move_archives_elsewhere(channel: Path, archives_at: Path, base_url: str) -> None:
    """Make ``channel`` a CEP 15 channel whose archives live at another address.

    Its archives move, flat, into ``archives_at``; each subdir's repodata gets
    ``info.base_url`` (where that directory is served) and ``repodata_version: 2``.
    """
    archives_at.mkdir(parents=True, exist_ok=True)
    for rd in sorted(channel.glob("*/repodata.json")):
        doc = load_json(rd)
        for section in ("packages", "packages.conda"):
            for fn in doc.get(section) or {}:
                (rd.parent / fn).rename(archives_at / fn)
        doc.setdefault("info", {})["base_url"] = base_url
        doc["repodata_version"] = 2
        rd.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
