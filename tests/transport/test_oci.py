"""The registry protocol (:mod:`conda_vendor_plugin.transport.oci`) against a real registry
(Debian's docker-registry over TLS: no auth, htpasswd basic auth, the token flow with a
token service the test runs), and against a hostile one for what no real registry does."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest

from conda_vendor_plugin.errors import DownloadError, RegistryError
from conda_vendor_plugin.transport.download import Downloader, DownloadJob
from conda_vendor_plugin.transport.oci import Registry as Client
from conda_vendor_plugin.transport.oci_auth import Credentials, credentials_for
from conda_vendor_plugin.transport.oci_names import MAX_MANIFEST, sha256_digest
from conda_vendor_plugin.transport.session import RetryPolicy

from ..support import registry as reg
from ..support.hostile_registry import Answer, HostileRegistry
from ..support.token_server import TokenServer

AUTH = "Basic " + base64.b64encode(f"{reg.USER}:{reg.PASSWORD}".encode()).decode()


def _auth_file(path: Path, netloc: str, password: str = reg.PASSWORD) -> Path:
    encoded = base64.b64encode(f"{reg.USER}:{password}".encode()).decode()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"auths": {f"https://{netloc}": {"auth": encoded}}}))
    return path


def _round_trip(client: Client, repo: str, tmp_path: Path, data: bytes) -> bytes:
    """Upload ``data`` as a blob, fetch it back through the Downloader; the bytes."""
    digest = sha256_digest(data)
    source = tmp_path / "source.bin"
    source.write_bytes(data)
    assert not client.has_blob(repo, digest)
    client.put_blob(repo, digest, len(data), source)
    assert client.has_blob(repo, digest)
    dest = tmp_path / "fetched.bin"
    job = DownloadJob(client.blob_url(repo, digest), dest, len(data), digest[7:], None, "blob")
    Downloader(client.blob_session).run([job])
    return dest.read_bytes()


def test_a_large_blob_goes_up_in_chunks(registry: reg.Registry, tmp_path: Path) -> None:
    client = Client(registry.netloc, ca_cert=registry.certs.ca, chunk_size=1000)
    data = os.urandom(2500)
    assert _round_trip(client, "ns/big", tmp_path, data) == data
    patches = registry.requests("PATCH", r"ns/big/blobs/uploads/\S+")
    assert len(patches) == 3 and all(p.endswith(" 202") for p in patches)
    assert len(registry.uploads()) == 1  # one upload session, three chunks, one PUT


def test_basic_auth_from_the_docker_config(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    certs = reg.certificates(tmp_path_factory)
    with reg.running(tmp_path / "r", auth="basic", certs=certs) as registry:
        env = {"HOME": str(tmp_path / "home")}
        _auth_file(tmp_path / "home" / ".docker" / "config.json", registry.netloc)
        creds = credentials_for(registry.netloc, env)
        assert creds is not None and reg.PASSWORD not in repr(creds)
        client = Client(registry.netloc, ca_cert=certs.ca, credentials=creds)
        assert _round_trip(client, "ns/a", tmp_path, b"hello") == b"hello"

        wrong = Client(registry.netloc, ca_cert=certs.ca, credentials=Credentials("x", "y", "F"))
        with pytest.raises(RegistryError, match="the credentials from F were refused"):
            wrong.has_blob("ns/a", sha256_digest(b"hello"))
        anonymous = Client(registry.netloc, ca_cert=certs.ca, environ={"HOME": str(tmp_path)})
        with pytest.raises(RegistryError, match="no credentials for it were found"):
            anonymous.has_blob("ns/a", sha256_digest(b"hello"))


def test_the_token_flow_of_a_registry_with_token_auth(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    reg.require()
    certs = reg.certificates(tmp_path_factory)
    with TokenServer(tmp_path / "tokens", certs) as tokens:
        config = tokens.registry_config()
        with reg.running(tmp_path / "r", auth="token", token=config, certs=certs) as registry:
            auth_file = _auth_file(tmp_path / "podman" / "auth.json", registry.netloc)
            env = {"REGISTRY_AUTH_FILE": str(auth_file), "HOME": str(tmp_path)}
            client = Client(registry.netloc, ca_cert=certs.ca, environ=env)
            assert _round_trip(client, "team/pkg", tmp_path, b"payload") == b"payload"
            # The registry challenged, the token service got the credentials and the scope.
            assert {
                "scope": "repository:team/pkg:pull,push",
                "credentials": True,
            } in tokens.requests
            assert registry.requests("HEAD", r"team/pkg/blobs/\S+")[0].endswith(" 401")
            # A mount from another repository asks for a token with both scopes.
            digest = sha256_digest(b"payload")
            assert not client.put_blob("team/other", digest, 7, b"payload", "team/pkg")
            assert tokens.requests[-1]["scope"] == (
                "repository:team/other:pull,push repository:team/pkg:pull"
            )
            assert registry.mounts()[-1].endswith(" 201")

            anonymous = Client(registry.netloc, ca_cert=certs.ca, environ={"HOME": str(tmp_path)})
            with pytest.raises(RegistryError, match="docker login"):
                anonymous.has_blob("team/pkg", sha256_digest(b"payload"))


def test_tls_is_verified_and_the_message_says_how_to_trust_a_private_ca(
    registry: reg.Registry,
) -> None:
    client = Client(registry.netloc)  # the system store (REQUESTS_CA_BUNDLE where set)
    with pytest.raises(RegistryError) as e:
        client.has_blob("ns/a", sha256_digest(b""))
    assert "TLS certificate not verified" in str(e.value) and "--ca-cert FILE" in str(e.value)


def test_plain_http_only_when_asked(tmp_path: Path) -> None:
    with reg.running(tmp_path / "r", tls=False) as registry:
        with pytest.raises(RegistryError, match="TLS"):
            Client(registry.netloc).has_blob("ns/a", sha256_digest(b""))
        client = Client(registry.netloc, insecure=True)
        assert _round_trip(client, "ns/a", tmp_path, b"lab") == b"lab"


def test_a_failed_chunk_goes_on_from_where_the_registry_says_the_upload_stands(
    tmp_path: Path,
) -> None:
    """The second PATCH is answered 500 although the registry kept its bytes (as after a
    cut answer): the client asks (GET the upload), skips what is there, and finishes."""
    with HostileRegistry() as flaky:
        upload = "/v2/ns/blobs/uploads/u1"
        flaky.routes[("POST", "/v2/ns/blobs/uploads/")] = Answer(202, headers={"Location": upload})
        ok = Answer(202, headers={"Location": upload})
        flaky.routes[("PATCH", upload)] = [ok, Answer(500), ok]
        flaky.routes[("GET", upload)] = Answer(204, headers={"Range": "0-1999", "Location": upload})
        flaky.routes[("PUT", upload)] = Answer(201)
        policy = RetryPolicy(backoff=0.0)
        client = Client(flaky.netloc, insecure=True, chunk_size=1000, policy=policy)
        source = tmp_path / "blob"
        source.write_bytes(b"x" * 2500)
        client.put_blob("ns", sha256_digest(b"x" * 2500), 2500, source)
        asked = [(s["method"], s["headers"].get("Content-Range")) for s in flaky.seen]
        assert asked == [
            ("HEAD", None),  # a blob of more than one chunk: asked for first (404)
            ("POST", None),
            ("PATCH", "0-999"),
            ("PATCH", "1000-1999"),  # answered 500
            ("GET", None),  # the registry has 0-1999
            ("PATCH", "2000-2499"),
            ("PUT", None),
        ]


def test_a_missing_manifest_keeps_the_connection_for_the_next_request() -> None:
    """A first push asks for every package's tag (404): each on the same connection,
    not one TLS handshake per package."""
    with HostileRegistry() as registry:
        for name in ("a", "b", "c"):
            body = b'{"errors":[{"code":"MANIFEST_UNKNOWN"}]}'
            registry.routes[("GET", f"/v2/ns/{name}/manifests/1.0-0")] = Answer(404, body)
        client = Client(registry.netloc, insecure=True)
        for name in ("a", "b", "c"):
            assert client.get_manifest(f"ns/{name}", "1.0-0", missing_ok=True) is None
        assert len({seen["port"] for seen in registry.seen}) == 1


def test_a_blob_download_from_a_registry_that_went_away_is_one_download_error(
    tmp_path: Path,
) -> None:
    port = reg.free_port()  # nothing listens there
    client = Client(f"127.0.0.1:{port}", insecure=True)
    digest = sha256_digest(b"gone")
    job = DownloadJob(client.blob_url("ns", digest), tmp_path / "b", 4, digest[7:], None, "b")
    with pytest.raises(DownloadError, match="connection refused"):
        Downloader(client.blob_session, policy=RetryPolicy(tries=2, backoff=0.0)).run([job])


# -- a hostile registry -----------------------------------------------------------------


def test_a_manifest_past_the_limit_is_refused() -> None:
    with HostileRegistry() as bad:
        huge = b"{" + b" " * MAX_MANIFEST + b"}"
        bad.routes[("GET", "/v2/ns/manifests/latest")] = Answer(200, huge)
        client = Client(bad.netloc, insecure=True)
        with pytest.raises(RegistryError, match="more than the 4194304 accepted; refused"):
            client.get_manifest("ns", "latest")


def test_a_manifest_asked_by_digest_must_have_it() -> None:
    with HostileRegistry() as bad:
        wanted = sha256_digest(b'{"a": 1}')
        bad.routes[("GET", f"/v2/ns/manifests/{wanted}")] = Answer(200, b'{"a": 2}')
        with pytest.raises(RegistryError, match="sent a manifest of digest"):
            Client(bad.netloc, insecure=True).get_manifest("ns", wanted)


def test_a_blob_that_is_not_its_digest_is_not_kept(tmp_path: Path) -> None:
    with HostileRegistry() as bad:
        digest = sha256_digest(b"the real bytes")
        bad.routes[("GET", f"/v2/ns/blobs/{digest}")] = Answer(200, b"other bytes!!!")
        client = Client(bad.netloc, insecure=True)
        dest = tmp_path / "blob"
        job = DownloadJob(client.blob_url("ns", digest), dest, 14, digest[7:], None, "blob")
        with pytest.raises(DownloadError, match="does not match"):
            Downloader(client.blob_session).run([job])
        assert not dest.exists() and list(tmp_path.iterdir()) == []


def test_a_redirect_to_another_host_carries_no_credentials(tmp_path: Path) -> None:
    data = b"stored elsewhere"
    digest = sha256_digest(data)
    with HostileRegistry(require_basic=AUTH) as registry, HostileRegistry() as storage:
        storage.routes[("GET", "/blob")] = Answer(200, data)
        location = {"Location": f"http://{storage.netloc}/blob"}
        registry.routes[("GET", f"/v2/ns/blobs/{digest}")] = Answer(307, headers=location)
        creds = Credentials(reg.USER, reg.PASSWORD, "test")
        client = Client(registry.netloc, insecure=True, credentials=creds)
        job = DownloadJob(
            client.blob_url("ns", digest), tmp_path / "b", len(data), digest[7:], None, "b"
        )
        Downloader(client.blob_session).run([job])
        assert (tmp_path / "b").read_bytes() == data
        assert registry.seen[-1]["headers"].get("Authorization") == AUTH
        assert [s["headers"].get("Authorization") for s in storage.seen] == [None]


def test_an_upload_location_on_another_host_is_refused() -> None:
    with HostileRegistry(require_basic=AUTH) as registry, HostileRegistry() as thief:
        where = {"Location": f"http://{thief.netloc}/steal"}
        registry.routes[("POST", "/v2/ns/blobs/uploads/")] = Answer(202, headers=where)
        creds = Credentials(reg.USER, reg.PASSWORD, "test")
        client = Client(registry.netloc, insecure=True, credentials=creds)
        with pytest.raises(RegistryError, match="another host; refused"):
            client.put_blob("ns", sha256_digest(b"x"), 1, b"x")
        assert thief.seen == []


def test_a_token_realm_in_clear_text_elsewhere_gets_no_credentials() -> None:
    with HostileRegistry() as registry, HostileRegistry() as thief:
        challenge = {"WWW-Authenticate": f'Bearer realm="http://{thief.netloc}/token",service="x"'}
        registry.routes[("HEAD", f"/v2/ns/blobs/{sha256_digest(b'')}")] = Answer(
            401, headers=challenge
        )
        creds = Credentials(reg.USER, reg.PASSWORD, "test")
        client = Client(registry.netloc, credentials=creds, insecure=True)
        with pytest.raises(RegistryError, match="not https; refused"):
            client.has_blob("ns", sha256_digest(b""))
        assert thief.seen == []


def test_a_registry_that_does_not_answer_is_named_as_a_network_failure() -> None:
    port = reg.free_port()  # nothing listens there
    client = Client(f"127.0.0.1:{port}", policy=RetryPolicy(tries=2, backoff=0.0))
    with pytest.raises(RegistryError) as e:
        client.has_blob("ns/a", sha256_digest(b""))
    assert str(e.value) == (
        f"https://127.0.0.1:{port}: HEAD ns/a@{sha256_digest(b'')}: connection refused "
        f"(gave up after 2 tries)"
    )
