"""A real OCI registry for tests: Debian's ``docker-registry`` (the CNCF distribution
registry 2.8), run as the test's own subprocess on 127.0.0.1 with its own config in a
temporary directory: filesystem storage there, TLS with a CA and certificate the test
makes with the ``openssl`` CLI, optionally htpasswd basic auth (bcrypt via ``htpasswd``)
or token auth (``auth.token``, see :mod:`.token_server`). The Debian service is never
started or touched. Tests skip with one reason where the binary or openssl is missing
(``.ci/run`` installs the package when it can).

Every upload the registry accepts is in its access log, which the tests count
(:meth:`Registry.requests`), and every blob it stores is a directory under its storage
(:meth:`Registry.stored_blobs`).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

BINARY = "/usr/bin/docker-registry"
MISSING = (
    "docker-registry (Debian's CNCF distribution registry), htpasswd or openssl is not "
    "installed; `apt-get install -y docker-registry apache2-utils` (.ci/run does this where it can)"
)
USER, PASSWORD = "pusher", "s3cret-registry-password"


def available() -> bool:
    tools = ("openssl", "htpasswd")
    return os.access(BINARY, os.X_OK) and all(shutil.which(t) for t in tools)


def require() -> None:
    if not available():
        pytest.skip(MISSING)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


@dataclass(frozen=True)
class Certificates:
    ca: Path  # the CA a client trusts (--ca-cert)
    cert: Path  # the registry's certificate, signed by the CA
    key: Path


def make_certificates(directory: Path, host: str = "127.0.0.1") -> Certificates:
    """A CA and a server certificate for ``host`` (an IP address) signed by it."""
    directory.mkdir(parents=True, exist_ok=True)
    ca, ca_key = directory / "ca.pem", directory / "ca.key"
    cert, key, csr = directory / "server.pem", directory / "server.key", directory / "server.csr"
    ext = directory / "server.ext"
    _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(ca_key), "-out",
        str(ca), "-days", "2", "-subj", "/CN=conda-vendor-plugin test CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    )  # fmt: skip
    _openssl(
        "req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(csr),
        "-subj", f"/CN={host}",
    )  # fmt: skip
    ext.write_text(
        f"subjectAltName=IP:{host}\nbasicConstraints=CA:FALSE\n"
        "keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n"
        "authorityKeyIdentifier=keyid\nsubjectKeyIdentifier=hash\n"
    )
    _openssl(
        "x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key),
        "-CAcreateserial", "-out", str(cert), "-days", "2", "-extfile", str(ext),
    )  # fmt: skip
    return Certificates(ca, cert, key)


def _config(
    root: Path, addr: str, certs: Certificates | None, auth: str, token: dict[str, str] | None
) -> str:
    lines = [
        "version: 0.1",
        "log:",
        "  level: info",
        "  formatter: text",
        "  accesslog:",
        "    disabled: false",
        "storage:",
        "  filesystem:",
        f"    rootdirectory: {root / 'storage'}",
        "  delete:",
        "    enabled: true",
        "http:",
        f"  addr: {addr}",
        "  secret: conda-vendor-plugin-test-secret",
    ]
    if certs is not None:
        lines += ["  tls:", f"    certificate: {certs.cert}", f"    key: {certs.key}"]
    if auth == "basic":
        lines += ["auth:", "  htpasswd:", "    realm: test-realm", f"    path: {root / 'htpasswd'}"]
    elif auth == "token" and token is not None:
        lines += ["auth:", "  token:"] + [f"    {k}: {v}" for k, v in token.items()]
    return "\n".join(lines) + "\n"


class Registry:
    """One running registry; ``url`` is its ``oci://`` base (no namespace)."""

    def __init__(
        self,
        root: Path,
        host: str = "127.0.0.1",
        port: int | None = None,
        tls: bool = True,
        auth: str = "none",
        token: dict[str, str] | None = None,
        certs: Certificates | None = None,
    ) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.root = root
        self.host = host
        self.port = port or free_port(host)
        self.certs = (certs or make_certificates(root / "tls", host)) if tls else None
        self.auth = auth
        if auth == "basic":
            hashed = subprocess.run(
                ["htpasswd", "-Bbn", USER, PASSWORD], check=True, capture_output=True, text=True
            ).stdout
            (root / "htpasswd").write_text(hashed)
        self.config = root / "config.yml"
        self.config.write_text(_config(root, f"{host}:{self.port}", self.certs, auth, token))
        self.log = root / "registry.log"
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def netloc(self) -> str:
        return f"{self.host}:{self.port}"

    def url(self, namespace: str) -> str:
        return f"oci://{self.netloc}/{namespace}"

    def start(self) -> Registry:
        with open(self.log, "wb") as log:
            self._proc = subprocess.Popen(
                [BINARY, "serve", str(self.config)], stdout=log, stderr=subprocess.STDOUT
            )
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        """Until the port accepts connections (setup, not a test assertion)."""
        assert self._proc is not None
        for _ in range(600):
            if self._proc.poll() is not None:
                raise RuntimeError(f"docker-registry exited: {self.log.read_text()[-2000:]}")
            try:
                with socket.create_connection((self.host, self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"docker-registry did not listen: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None

    def __enter__(self) -> Registry:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def log_size(self) -> int:
        """Where the access log ends now (for :meth:`requests` ``since``)."""
        return self.log.stat().st_size

    def requests(self, method: str, path_pattern: str = ".*", since: int = 0) -> list[str]:
        """Access-log lines of ``method`` requests whose path matches ``path_pattern``
        (``method`` a regular expression too), logged after byte ``since`` of the log."""
        rx = re.compile(rf'"({method}) (/v2/{path_pattern}) HTTP/[0-9.]+" (\d+)')
        with open(self.log, "rb") as f:
            f.seek(since)
            text = f.read().decode(errors="replace")
        return [f"{m.group(2)} {m.group(3)}" for m in rx.finditer(text)]

    def uploads(self) -> list[str]:
        """Every blob upload started (``POST /v2/<repo>/blobs/uploads/`` answered 202)."""
        return [r for r in self.requests("POST", r"\S+/blobs/uploads/\S*") if r.endswith(" 202")]

    def mounts(self) -> list[str]:
        """Every ``POST`` the registry answered by mounting a blob it had (201: no bytes)."""
        return [r for r in self.requests("POST", r"\S+/blobs/uploads/\S*") if r.endswith(" 201")]

    def stored_blobs(self) -> set[str]:
        base = self.root / "storage" / "docker" / "registry" / "v2" / "blobs" / "sha256"
        if not base.is_dir():
            return set()
        return {f"sha256:{d.name}" for d in base.glob("*/*") if (d / "data").is_file()}


@contextmanager
def running(root: Path, **kwargs: object) -> Iterator[Registry]:
    """A registry for one ``with`` block (skips the test where there is none)."""
    require()
    root.mkdir(parents=True, exist_ok=True)
    with Registry(root, **kwargs) as reg:  # type: ignore[arg-type]
        yield reg


_CERTS: dict[str, Certificates] = {}


def certificates(factory: pytest.TempPathFactory, host: str = "127.0.0.1") -> Certificates:
    """One CA and server certificate per host for the whole test session."""
    if host not in _CERTS:
        _CERTS[host] = make_certificates(factory.mktemp("registry-tls"), host)
    return _CERTS[host]
