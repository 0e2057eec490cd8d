"""Docker credential helpers: ``credsStore`` and ``credHelpers`` in the docker config.

As ``docker`` runs them: ``docker-credential-<name> get`` found on ``PATH``, the
registry's host (``host:port``) on its stdin, a JSON object on its stdout
(``{"ServerURL": ..., "Username": ..., "Secret": ...}``). A helper that answers
``credentials not found`` means no credentials (anonymous, as docker goes on). Its stdout
is read up to :data:`MAX_ANSWER` bytes, its stderr is not read (it is the helper's, not
ours), and it is stopped after :data:`TIMEOUT` seconds. The secret is never printed: a
failing helper is named with its exit status and the first line of what it said, only when
that is not JSON (which could hold the secret).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from collections.abc import Mapping

from ..errors import RegistryError, quoted

MAX_ANSWER = 64 << 10
TIMEOUT = 60.0
NOT_FOUND = "credentials not found"
_NAME_OK = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")


def helper_credentials(
    name: str, netloc: str, source: str, environ: Mapping[str, str] | None = None
) -> tuple[str, str] | None:
    """(username, secret) from ``docker-credential-<name>`` for ``netloc``, or None when
    the helper has none; ``source`` names where the helper was configured (for messages)."""
    program = f"docker-credential-{name}"
    if not name or not set(name) <= _NAME_OK:
        raise RegistryError(f"{source}: {quoted(name)} is not a credential helper name")
    env = dict(os.environ if environ is None else environ)
    exe = shutil.which(program, path=env.get("PATH"))
    if exe is None:
        raise RegistryError(
            f"{source}: the credential helper {program} is not on PATH; install it, or "
            f"remove it from the docker config to use the credentials in 'auths'"
        )
    status, answer = _run(exe, netloc, env, f"{source}: {program}")
    if status != 0:
        said = answer.decode(errors="replace").strip()
        if NOT_FOUND in said.lower():
            return None
        raise RegistryError(f"{source}: {program} get failed (exit {status}){_said(said)}")
    return _parse(answer, program, source)


def _run(exe: str, netloc: str, env: dict[str, str], label: str) -> tuple[int, bytes]:
    try:
        proc = subprocess.Popen(
            [exe, "get"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )
    except OSError as e:
        raise RegistryError(f"{label}: could not be run ({e.strerror or e})") from None
    timer = threading.Timer(TIMEOUT, proc.kill)
    timer.start()
    try:
        assert proc.stdin is not None and proc.stdout is not None
        try:
            proc.stdin.write(netloc.encode())
            proc.stdin.close()
        except BrokenPipeError:
            pass  # it did not read the host: its answer says why
        answer = proc.stdout.read(MAX_ANSWER + 1)
        if len(answer) > MAX_ANSWER:
            proc.kill()
            raise RegistryError(f"{label} get: more than {MAX_ANSWER} bytes of answer; refused")
        return proc.wait(), answer
    finally:
        timer.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _said(text: str) -> str:
    """The first line of a failing helper's answer, unless it is JSON (it may be the
    secret), at most 200 characters."""
    line = text.splitlines()[0].strip() if text else ""
    if not line or line.startswith(("{", "[")):
        return ""
    return f": {line[:200]}"


def _parse(answer: bytes, program: str, source: str) -> tuple[str, str] | None:
    try:
        doc = json.loads(answer)
    except ValueError:
        raise RegistryError(f"{source}: {program} get did not answer JSON") from None
    user = doc.get("Username") if isinstance(doc, dict) else None
    secret = doc.get("Secret") if isinstance(doc, dict) else None
    if not isinstance(user, str) or not isinstance(secret, str):
        raise RegistryError(f"{source}: {program} get answered without Username and Secret")
    if user == "<token>":
        raise RegistryError(
            f"{source}: {program} gives an identity token (Username '<token>'), which this "
            f"tool does not use; log in with a username and password"
        )
    return (user, secret) if user and secret else None
