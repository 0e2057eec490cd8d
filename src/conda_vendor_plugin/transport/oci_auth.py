"""Registry credentials and the token dance, as ``docker`` and ``podman`` do them.

Credentials come from ``REGISTRY_AUTH_FILE`` (podman's), else ``$DOCKER_CONFIG/config.json``,
else ``~/.docker/config.json``: the ``auths`` entry of the registry's host (``host:port``,
also written ``https://host:port`` or ``https://host:port/v1/``), as ``auth`` (base64
``user:password``) or ``username`` / ``password``. Credential helpers (``credsStore``,
``credHelpers``) are run as docker runs them (:mod:`.oci_credhelper`): the registry's
``credHelpers`` entry first, else ``credsStore``, else ``auths``. Credentials are never
printed: :class:`Credentials` hides the password in its ``repr``, and messages name the
file (or helper), never its content.

A ``401`` answer's ``WWW-Authenticate`` says how to authenticate: ``Basic`` (send the
credentials to the registry itself) or ``Bearer realm=...,service=...,scope=...`` (ask the
realm for a token, with the credentials if there are any, and send the token). The realm
must be https, or the registry's own host: credentials never travel in clear text to
another host.
"""

from __future__ import annotations

import base64
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from threading import Lock
from typing import Any
from urllib.parse import urlsplit

from ..errors import RegistryError, quoted
from ..fsutil import read_limited

MAX_AUTH_FILE = 1 << 20
MAX_TOKEN_ANSWER = 1 << 20
_PARAM = re.compile(r'([A-Za-z]+)="([^"]*)"')


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str = field(repr=False)
    source: str = ""  # the file they came from, for messages


def auth_file(environ: Mapping[str, str] | None = None) -> Path:
    """The credentials file this run reads (it may not exist)."""
    env = os.environ if environ is None else environ
    if env.get("REGISTRY_AUTH_FILE"):
        return Path(env["REGISTRY_AUTH_FILE"])
    if env.get("DOCKER_CONFIG"):
        return Path(env["DOCKER_CONFIG"]) / "config.json"
    return Path(env.get("HOME") or Path.home()) / ".docker" / "config.json"


def _host_of(key: str) -> str:
    return urlsplit(key).netloc if "://" in key else key.split("/", 1)[0]


def credentials_for(netloc: str, environ: Mapping[str, str] | None = None) -> Credentials | None:
    """The credentials the auth file holds for ``netloc`` (``host:port``), or None."""
    path = auth_file(environ)
    try:
        doc = json.loads(read_limited(path, MAX_AUTH_FILE))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as e:
        raise RegistryError(
            f"{path}: unreadable registry credentials file ({type(e).__name__})"
        ) from None
    if not isinstance(doc, Mapping):
        return None
    helper = _helper_of(doc, netloc, path)
    if helper is not None:
        return _from_helper(*helper, netloc, environ)
    auths = doc.get("auths")
    if not isinstance(auths, Mapping):
        return None
    for key, entry in auths.items():
        if isinstance(key, str) and _host_of(key) == netloc and isinstance(entry, Mapping):
            return _entry_credentials(entry, f"{path} (auths.{netloc})")
    return None


def _helper_of(doc: Mapping[str, Any], netloc: str, path: Path) -> tuple[str, str] | None:
    """(helper name, where it is configured) for ``netloc``, as docker picks it: the
    registry's own ``credHelpers`` entry, else ``credsStore``; None: use ``auths``."""
    helpers = doc.get("credHelpers")
    if isinstance(helpers, Mapping):
        for key, name in helpers.items():
            if isinstance(key, str) and _host_of(key) == netloc and isinstance(name, str):
                return name, f"{path} (credHelpers.{netloc})"
    store = doc.get("credsStore")
    if isinstance(store, str) and store:
        return store, f"{path} (credsStore)"
    return None


def _from_helper(
    name: str, source: str, netloc: str, environ: Mapping[str, str] | None
) -> Credentials | None:
    from .oci_credhelper import helper_credentials

    found = helper_credentials(name, netloc, source, environ)
    if found is None:
        return None
    return Credentials(found[0], found[1], f"docker-credential-{name} of {source}")


def _entry_credentials(entry: Mapping[str, Any], source: str) -> Credentials | None:
    user, password = entry.get("username"), entry.get("password")
    if isinstance(user, str) and isinstance(password, str) and user:
        return Credentials(user, password, source)
    encoded = entry.get("auth")
    if not isinstance(encoded, str) or not encoded:
        return None
    try:
        user, sep, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except ValueError:
        raise RegistryError(f"{source}: 'auth' is not base64 of user:password") from None
    return Credentials(user, password, source) if sep and user else None


@dataclass(frozen=True)
class Challenge:
    scheme: str  # "basic" or "bearer"
    params: Mapping[str, str]


def parse_challenge(header: str) -> Challenge | None:
    """``WWW-Authenticate: Bearer realm="...",service="...",scope="..."`` (or Basic)."""
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() not in ("basic", "bearer"):
        return None
    return Challenge(scheme.lower(), dict(_PARAM.findall(rest)))


class Authenticator:
    """What to send as ``Authorization`` for each scope, learnt from the registry's
    challenges. Thread-safe; tokens are kept per scope for the run."""

    def __init__(self, registry_url: str, credentials: Credentials | None) -> None:
        self.registry_url = registry_url.rstrip("/")
        self.credentials = credentials
        self._lock = Lock()
        self._basic = False
        self._bearer: dict[str, str] = {}  # scope -> token
        self._challenge: Challenge | None = None

    def header(self, scope: str) -> dict[str, str]:
        with self._lock:
            if scope in self._bearer:
                return {"Authorization": f"Bearer {self._bearer[scope]}"}
            if self._basic and self.credentials is not None:
                return {"Authorization": _basic(self.credentials)}
        return {}

    def refused(self) -> RegistryError:
        where = (
            f"the credentials from {self.credentials.source} were refused"
            if self.credentials is not None
            else "no credentials for it were found in ~/.docker/config.json or "
            "REGISTRY_AUTH_FILE (`docker login` / `podman login` writes them)"
        )
        return RegistryError(f"{self.registry_url}: the registry asks for authentication; {where}")

    def learn(self, header: str, scope: str, get_token: Any) -> bool:
        """After a 401 with ``header``: True when a retry may now succeed.
        ``get_token(url, params, credentials)`` asks the realm (a callable of the client,
        which owns the session and TLS settings) and returns the JSON answer."""
        challenge = parse_challenge(header or "")
        if challenge is None:
            return False
        if challenge.scheme == "basic":
            with self._lock:
                if self._basic or self.credentials is None:
                    return False
                self._basic = True
                return True
        realm = challenge.params.get("realm", "")
        self._check_realm(realm)
        params: dict[str, str | list[str]] = {"scope": scope.split()}  # one param per scope
        if challenge.params.get("service"):
            params["service"] = challenge.params["service"]
        answer = get_token(realm, params, self.credentials)
        token = (
            answer.get("token") or answer.get("access_token") if isinstance(answer, dict) else None
        )
        if not isinstance(token, str) or not token:
            raise RegistryError(f"{realm}: the token service answered without a token")
        with self._lock:
            if self._bearer.get(scope) == token:
                return False  # the same token was refused: asking again will not help
            self._bearer[scope] = token
        return True

    def _check_realm(self, realm: str) -> None:
        parts, own = urlsplit(realm), urlsplit(self.registry_url)
        if parts.scheme == "https" or (parts.scheme == "http" and parts.netloc == own.netloc):
            return
        raise RegistryError(
            f"{self.registry_url}: the registry sends clients for tokens to "
            f"{quoted(realm)}, which is not https; refused (credentials would travel in clear)"
        )


def _basic(credentials: Credentials) -> str:
    raw = f"{credentials.username}:{credentials.password}".encode()
    return "Basic " + base64.b64encode(raw).decode()


def basic_header(credentials: Credentials) -> dict[str, str]:
    return {"Authorization": _basic(credentials)}
