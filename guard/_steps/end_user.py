"""The end-user step: attach a salted hash of the end user's id (``end_user()``) to generating calls.

The salt is the policy's ``end_user.salt``, else ``PRODGUARD_END_USER_SALT``, else a random salt
generated once and kept with the guard's state (``salt_file``, mode 0600); there is no public default,
so the hash of a known id cannot be looked up. Rotating the salt (a new value, or deleting the file)
makes every end user a new one to the API's abuse monitoring.
"""

from __future__ import annotations

import contextvars
import hashlib
import logging
import os
import secrets
from pathlib import Path

from prodguard.guard._call import Call
from prodguard.guard._files import write_private
from prodguard.guard._io import Flow
from prodguard.guard._policy.policy import EndUserSettings
from prodguard.guard._steps.base import StepBase

log = logging.getLogger("prodguard.guard")

END_USER: contextvars.ContextVar[str | None] = contextvars.ContextVar("prodguard_end_user", default=None)


def load_salt(settings: EndUserSettings, salt_file: Path) -> str:
    configured = settings.salt or os.environ.get("PRODGUARD_END_USER_SALT")
    if configured:
        return configured
    try:
        return salt_file.read_text("utf-8").strip()
    except FileNotFoundError:
        pass
    salt = secrets.token_hex(32)
    write_private(salt_file, salt.encode())
    log.warning("prodguard: no end_user.salt configured; generated a random one in %s (keep it, or set PRODGUARD_END_USER_SALT)", salt_file)
    return salt


class EndUserStep(StepBase):
    name = "end_user"

    def __init__(self, settings: EndUserSettings, salt_file: Path) -> None:
        self.settings = settings
        self._salt_file = salt_file
        self._salt: str | None = None

    def hash(self, end_user: str) -> str:
        if self._salt is None:
            self._salt = load_salt(self.settings, self._salt_file)
        return hashlib.sha256(f"{self._salt}:{end_user}".encode()).hexdigest()[:32]

    def request(self, call: Call) -> Flow[None]:
        if call.end_user_hash is None:
            return
        body = call.body
        if call.route.kind in ("chat", "responses") and isinstance(body, dict) and self.settings.parameter not in body:
            call.body = {**body, self.settings.parameter: call.end_user_hash}
            call.changed = True
        return
        yield
