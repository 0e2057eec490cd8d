"""CEP 16 shards written from a channel's own ``repodata.json`` (as conda-index and
rattler write them: one msgpack map per package name, zstd-compressed, named by the
sha256 of the compressed bytes, ``sha256``/``md5`` as raw bytes), and hostile ones."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgpack

from .zstd import zstd

INDEX = "repodata_shards.msgpack.zst"


def pack(value: Any) -> bytes:
    return zstd.compress(msgpack.packb(value, use_bin_type=True), level=19)


def _as_bytes(record: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(record)
    for key in ("sha256", "md5"):
        if isinstance(out.get(key), str):
            out[key] = bytes.fromhex(out[key])
    return out


def shard_subdir(
    channel: Path,
    subdir: str,
    shards_base_url: str = "./shards/",
    info: Mapping[str, Any] | None = None,
    index_extra: Mapping[str, Any] | None = None,
) -> dict[str, Path]:
    """Write ``<subdir>/repodata_shards.msgpack.zst`` and one shard per package name of
    ``<subdir>/repodata.json``; return name -> shard file."""
    sub = channel / subdir
    repodata = json.loads((sub / "repodata.json").read_text())
    by_name: dict[str, dict[str, dict[str, Any]]] = {}
    for section in ("packages", "packages.conda"):
        for fn, record in (repodata.get(section) or {}).items():
            shard = by_name.setdefault(record["name"], {"packages": {}, "packages.conda": {}})
            shard[section][fn] = _as_bytes(record)
    shard_dir = sub / shards_base_url if "://" not in shards_base_url else sub
    shard_dir.mkdir(parents=True, exist_ok=True)
    files, hashes = {}, {}
    for name, shard in sorted(by_name.items()):
        body = pack({**shard, "removed": []})
        digest = hashlib.sha256(body).digest()
        files[name] = shard_dir / f"{digest.hex()}.msgpack.zst"
        files[name].write_bytes(body)
        hashes[name] = digest
    write_index(
        channel,
        subdir,
        hashes,
        {"base_url": "", "shards_base_url": shards_base_url, "subdir": subdir, **(info or {})},
        index_extra,
    )
    return files


def write_index(
    channel: Path,
    subdir: str,
    shards: Mapping[str, Any],
    info: Mapping[str, Any],
    extra: Mapping[str, Any] | None = None,
) -> Path:
    path = channel / subdir / INDEX
    path.write_bytes(
        pack({"version": 1, "info": dict(info), "shards": dict(shards), **(extra or {})})
    )
    return path


def read_index(channel: Path, subdir: str) -> dict[str, Any]:
    data = zstd.decompress((channel / subdir / INDEX).read_bytes())
    return msgpack.unpackb(data, raw=False)
