"""``vendor push`` and ``vendor pull`` against a real registry (Debian's docker-registry,
the CNCF distribution registry, run by the test on 127.0.0.1 over TLS with the test's CA).

Bundles are vendored from real channels built at test time; every command is the real
one (``python -m conda_vendor_plugin`` in-process). What moved is read from the
registry's own access log.
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import os
import tarfile
from pathlib import Path

import pytest

from conda_vendor_plugin.transport.oci import Registry as Client

from ..support.build import Pkg, build_channel
from ..support.registry import Registry
from ..support.vendoring import snapshot, write_env

pytest.importorskip("rattler")

PKGS = [
    Pkg("app", "1.0", depends=["lib >=1", "_data"]),
    Pkg("lib", "1.5+x", subdir="linux-64"),
    Pkg("lib", "2.1", subdir="linux-64"),
    Pkg("_data", "2024.1"),
    Pkg("tool", "0.1", fmt=".conda"),
]


@pytest.fixture
def channel(tmp_path: Path) -> str:
    return build_channel(tmp_path / "chan", PKGS, subdirs=("linux-64",)).as_uri()


def _vendor(run, tmp_path: Path, channel: str, deps: list[str], out: Path) -> None:
    env = write_env(tmp_path / "env.yml", [channel], deps, name="analysis")
    rc, stdout, err = run("vendor", env, "--platform", "linux-64", "-o", out, "--json")
    assert rc == 0, stdout + err


def _json(run, *args: object) -> dict:
    rc, stdout, err = run("vendor", *args, "--json")
    doc = json.loads(stdout)
    assert rc == 0, (doc, err)
    return doc


def _push(run, out: Path, registry: Registry, ns: str = "team/envs") -> dict:
    return _json(run, "push", out, registry.url(ns), "--ca-cert", registry.certs.ca)


def _pull(run, registry: Registry, dest: Path, ns: str = "team/envs") -> dict:
    return _json(run, "pull", registry.url(ns), "-o", dest, "--ca-cert", registry.certs.ca)


def _uploaded_repositories(lines: list[str]) -> set[str]:
    return {line.split(" ")[0].removeprefix("/v2/").split("/blobs/")[0] for line in lines}


def test_push_then_pull_rebuilds_the_same_bundle(
    run, tmp_path: Path, channel: str, registry: Registry
) -> None:
    out = tmp_path / "OUT"
    _vendor(run, tmp_path, channel, ["app", "lib 1.5*", "tool"], out)
    pushed = _push(run, out, registry)
    assert pushed["packages"] == pushed["packages_pushed"] == 4

    pulled = tmp_path / "PULLED"
    doc = _pull(run, registry, pulled)
    assert doc["archives"] == 4
    # Every file, the manifest itself and the `current` link, byte for byte.
    assert snapshot(pulled) == snapshot(out)
    rc, stdout, _ = run("vendor", "verify", pulled, "--json")
    assert rc == 0 and json.loads(stdout)["problems"] == 0
    assert not (tmp_path / ".PULLED.staging").exists()


def test_a_second_push_of_an_unchanged_bundle_uploads_no_blob(
    run, tmp_path: Path, channel: str, registry: Registry
) -> None:
    out = tmp_path / "OUT"
    _vendor(run, tmp_path, channel, ["app", "tool"], out)
    _push(run, out, registry)
    first = registry.uploads()
    stored = registry.stored_blobs()
    assert first and stored

    again = _push(run, out, registry)
    assert registry.uploads() == first  # not one POST /blobs/uploads/ more
    assert registry.stored_blobs() == stored
    assert again["blobs_uploaded"] == 0 and again["packages_pushed"] == 0


def test_a_push_after_one_package_changed_moves_only_that_package_and_metadata(
    run, tmp_path: Path, channel: str, registry: Registry
) -> None:
    out = tmp_path / "OUT"
    _vendor(run, tmp_path, channel, ["app", "lib 1.5*", "tool"], out)
    _push(run, out, registry)
    before = len(registry.uploads())

    _vendor(run, tmp_path, channel, ["app", "lib 2.1*", "tool"], out)  # a new version
    doc = _push(run, out, registry)
    moved = _uploaded_repositories(registry.uploads()[before:])
    assert moved == {
        "team/envs/local_chan/linux-64/lib",  # lib 2.1: archive and info layers
        "team/envs/local_chan/linux-64/repodata.json",
        "team/envs",  # bundle.json, manifest, SBOM, the new version's files
    }
    assert doc["packages_pushed"] == 1
    # Both states stay pullable by their own tag; the new one is latest.
    client = Client(registry.netloc, ca_cert=registry.certs.ca)
    assert len([t for t in client.tags("team/envs") if t.startswith("bundle-")]) == 2
    assert doc["reference"].endswith(":" + doc["tags"][0])


def test_the_layout_is_conda_oci_mirror_s(
    run, tmp_path: Path, channel: str, registry: Registry
) -> None:
    out = tmp_path / "OUT"
    _vendor(run, tmp_path, channel, ["app", "lib 1.5*", "tool"], out)
    _push(run, out, registry)
    client = Client(registry.netloc, ca_cert=registry.certs.ca)

    # '_data' -> 'zzz_data'; '+' in a tag -> '__p__'
    manifest, _ = client.get_manifest("team/envs/local_chan/noarch/zzz_data", "2024.1-0")
    types = [layer["mediaType"] for layer in manifest["layers"]]
    assert types == [
        "application/vnd.conda.package.v1",
        "application/vnd.conda.info.v1.tar+gzip",
        "application/vnd.conda.info.index.v1+json",
    ]
    titles = [
        layer["annotations"]["org.opencontainers.image.title"] for layer in manifest["layers"]
    ]
    assert titles == [
        "_data-2024.1-0.tar.bz2",
        "_data-2024.1-0/info.tar.gz",
        "_data-2024.1-0/info/index.json",
    ]
    assert client.tags("team/envs/local_chan/linux-64/lib") == ["1.5__p__x-0"]
    conda, _ = client.get_manifest("team/envs/local_chan/noarch/tool", "0.1-0")
    assert conda["layers"][0]["mediaType"] == "application/vnd.conda.package.v2"

    # The info layers are the archive's own info/ (from the .conda's info-*.tar.zst too).
    blobs = {
        layer["mediaType"]: _blob(client, "team/envs/local_chan/noarch/tool", layer)
        for layer in conda["layers"]
    }
    index = json.loads(blobs["application/vnd.conda.info.index.v1+json"])
    assert (index["name"], index["version"]) == ("tool", "0.1")
    info = blobs["application/vnd.conda.info.v1.tar+gzip"]
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(info))) as tar:
        extracted = tar.extractfile("info/index.json")
        assert extracted is not None and json.loads(extracted.read()) == index

    # Each subdir's repodata.json is its own artifact, byte for byte the bundle's.
    for subdir in ("noarch", "linux-64"):
        repo = f"team/envs/local_chan/{subdir}/repodata.json"
        rd, _ = client.get_manifest(repo, "latest")
        (layer,) = rd["layers"]
        assert layer["mediaType"] == "application/vnd.conda.repodata.v1+json"
        assert (
            _blob(client, repo, layer)
            == (out / "local_chan" / subdir / "repodata.json").read_bytes()
        )


def _blob(client: Client, repo: str, layer: dict) -> bytes:
    r = client.request("GET", client.blob_url(repo, layer["digest"]), f"repository:{repo}:pull")
    assert r.status_code == 200
    return r.content


def test_pull_refuses_a_directory_of_other_files_and_replaces_an_older_bundle(
    run, tmp_path: Path, channel: str, registry: Registry
) -> None:
    out = tmp_path / "OUT"
    _vendor(run, tmp_path, channel, ["tool"], out)
    _push(run, out, registry)
    dest = tmp_path / "mine"
    dest.mkdir()
    (dest / "notes.txt").write_text("keep me")
    rc, _, err = run(
        "vendor", "pull", registry.url("team/envs"), "-o", dest, "--ca-cert", registry.certs.ca
    )
    assert rc == 1 and err.strip() == (
        f"error: {dest}: the output directory was not written by conda vendor (notes.txt), "
        f"which replacing it would delete; move them away, choose another -o/--output, or "
        f"pass --force"
    )
    assert (dest / "notes.txt").read_text() == "keep me" and len(list(dest.iterdir())) == 1

    # A bundle at OUT (an older state) becomes the pulled state, through one swap.
    older = tmp_path / "older"
    _vendor(run, tmp_path, channel, ["app"], older)
    _pull(run, registry, older)
    assert snapshot(older) == snapshot(out)


def test_pull_of_a_tag_that_is_not_there_is_one_line(
    run, tmp_path: Path, registry: Registry
) -> None:
    rc, _, err = run(
        "vendor",
        "pull",
        registry.url("team/none:bundle-0"),
        "-o",
        tmp_path / "x",
        "--ca-cert",
        registry.certs.ca,
    )
    assert rc == 1 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "team/none:bundle-0: not found (HTTP 404)" in err
    assert not (tmp_path / "x").exists()


def test_credentials_from_the_docker_config_and_never_in_any_output(
    run, tmp_path: Path, channel: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from ..support import registry as reg

    out = tmp_path / "OUT"
    _vendor(run, tmp_path, channel, ["tool"], out)
    certs = reg.certificates(tmp_path_factory)
    with reg.running(tmp_path / "r", auth="basic", certs=certs) as registry:
        config = Path(os.environ["HOME"]) / ".docker" / "config.json"
        config.parent.mkdir(parents=True)
        args = ("push", out, registry.url("team/envs"), "--ca-cert", certs.ca)

        _write_auth(config, registry.netloc, "not-the-password")
        for extra in ((), ("--json",)):
            rc, stdout, err = run("vendor", *args, *extra)
            assert rc == 1 and "not-the-password" not in stdout + err
            said = (
                json.loads(stdout)["error"]
                if extra
                else err.splitlines()[-1].removeprefix("error: ")
            )
            assert said == (
                f"https://{registry.netloc}: the registry asks for authentication; "
                f"the credentials from {config} (auths.{registry.netloc}) were refused"
            )
        _write_auth(config, registry.netloc, reg.PASSWORD)
        rc, stdout, err = run("vendor", *args)
        assert rc == 0 and reg.PASSWORD not in stdout + err + registry.log.read_text()
        assert stdout.startswith(f"Pushed {out} to oci://{registry.netloc}/team/envs:bundle-")


def _write_auth(config: Path, netloc: str, password: str) -> None:
    from ..support.registry import USER

    secret = base64.b64encode(f"{USER}:{password}".encode()).decode()
    config.write_text(json.dumps({"auths": {netloc: {"auth": secret}}}))


def test_a_pulled_layer_titled_outside_the_bundle_is_refused(
    run, tmp_path: Path, channel: str, registry: Registry
) -> None:
    from conda_vendor_plugin.bundle import oci_layout as L

    out = tmp_path / "OUT"
    _vendor(run, tmp_path, channel, ["tool"], out)
    _push(run, out, registry)
    client = Client(registry.netloc, ca_cert=registry.certs.ca)
    manifest, _ = client.get_manifest("team/envs", "latest")
    (layer,) = [x for x in manifest["layers"] if x["annotations"][L.TITLE] == "bundle.json"]
    layer["annotations"][L.TITLE] = "../escaped.json"
    client.put_manifest("team/envs", "evil", json.dumps(manifest).encode())

    dest = tmp_path / "deep" / "PULLED"
    rc, _, err = run(
        "vendor", "pull", registry.url("team/envs:evil"), "-o", dest, "--ca-cert", registry.certs.ca
    )
    assert rc == 1 and "Traceback" not in err
    assert err.strip() == (
        f"error: https://{registry.netloc}/team/envs:evil: layer '../escaped.json' refused "
        f"(has an empty, '.' or '..' component)"
    )
    assert not (tmp_path / "deep").exists()


def test_a_delta_bundle_is_not_pushed(
    run, tmp_path: Path, channel: str, registry: Registry
) -> None:
    out, delta = tmp_path / "OUT", tmp_path / "DELTA"
    _vendor(run, tmp_path, channel, ["tool"], out)
    env = write_env(tmp_path / "env2.yml", [channel], ["app", "tool"], name="analysis")
    rc, stdout, err = run("vendor", env, "--platform", "linux-64", "-o", delta, "--since", out)
    assert rc == 0, stdout + err
    rc, _, err = run(
        "vendor", "push", delta, registry.url("team/envs"), "--ca-cert", registry.certs.ca
    )
    assert rc == 1 and err.strip() == (
        f"error: {delta}: a delta bundle (it leaves out archives its base holds); push the "
        f"bundle it was applied to (`vendor apply {delta} --to BUNDLE`)"
    )
    assert registry.uploads() == []
