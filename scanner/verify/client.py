"""Asking the OpenAI API about a key, with the standard library only (the scanner's dependencies stay
light). One documented request per key, more only to find its organization among declared ones.

- ``GET {base}/models`` (API reference: Models, list) for project, service-account and user keys;
  ``GET {base}/organization/projects`` (Administration API) for admin keys. A 2xx, 403 (authenticated,
  lacking a permission) or 429 (authenticated, rate-limited or out of quota) means live; 401 means
  revoked (or never valid); anything else, a timeout or an unreachable server means unknown.
- The organization comes from the documented ``openai-organization`` response header and the project
  from ``openai-project``. When the header is not an organization id (the API may send the
  organization's name) and environments declare organizations, the key is asked once per declared
  organization with the documented ``OpenAI-Organization`` request header: the API accepts only an
  organization the key belongs to.

The key is sent only in the Authorization header, over https (or to a loopback test server), never
to a redirect target, and never written anywhere: no logging, and error reasons name only the request.
"""

from __future__ import annotations

import ipaddress
import json
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from email.message import Message
from typing import IO, Any
from urllib.parse import urlsplit

from prodguard.errors import UsageError
from prodguard.rules.environments import ORG_ID, PROJECT_ID
from prodguard.scanner.verify.model import KeyStatus, Verification

DEFAULT_BASE_URL = "https://api.openai.com/v1"
MODELS = "/models"
ADMIN_PROJECTS = "/organization/projects?limit=100"
USER_AGENT = "prodguard-verify"


@dataclass(frozen=True)
class VerifyOptions:
    """How verification talks to the API. ``base_url`` None: ``OPENAI_BASE_URL``, else the API."""

    base_url: str | None = None
    timeout_s: float = 5.0  # per request
    deadline_s: float = 60.0  # for the whole verification; keys left then are unknown
    min_interval_s: float = 0.25  # between two requests: at most 4 per second
    max_requests_per_key: int = 6


def resolve_base_url(options: VerifyOptions, environ: Mapping[str, str]) -> str:
    """The base URL to use, refusing plain http to anything but a loopback address: keys would travel
    in clear text."""
    base = (options.base_url or environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
    parts = urlsplit(base)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise UsageError(f"--verify-base-url must be an http(s) URL, not {base!r}")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise UsageError(f"refusing to send keys over plain http to {parts.hostname}; use https")
    return base


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Never follow a redirect: it would carry the Authorization header to another address."""

    def redirect_request(
        self, req: urllib.request.Request, fp: IO[bytes], code: int, msg: str, headers: Message, newurl: str
    ) -> None:
        return None


@dataclass(frozen=True)
class _Answer:
    status: int  # 0: no HTTP answer
    headers: Mapping[str, str]
    body: Any
    reason: str


@dataclass
class Verifier:
    """Verifies keys one after another, spacing requests and stopping at the deadline."""

    base_url: str
    options: VerifyOptions
    _last: float = 0.0
    _started: float = field(default_factory=time.monotonic)
    _opener: urllib.request.OpenerDirector = field(
        default_factory=lambda: urllib.request.build_opener(_NoRedirect())
    )
    requests_sent: int = 0

    def _out_of_time(self) -> bool:
        return time.monotonic() - self._started >= self.options.deadline_s

    def _get(self, path: str, key: str, organization: str | None = None) -> _Answer:
        wait = self._last + self.options.min_interval_s - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        self._last = time.monotonic()
        request = urllib.request.Request(self.base_url + path, method="GET")
        request.add_header("Authorization", f"Bearer {key}")
        request.add_header("User-Agent", USER_AGENT)
        if organization:
            request.add_header("OpenAI-Organization", organization)
        self.requests_sent += 1
        remaining = self.options.deadline_s - (time.monotonic() - self._started)
        timeout = max(0.1, min(self.options.timeout_s, remaining))
        try:
            with self._opener.open(request, timeout=timeout) as response:
                return _Answer(response.status, _lower(response.headers), _json(response.read(1 << 20)), "")
        except urllib.error.HTTPError as exc:
            with exc:
                return _Answer(exc.code, _lower(exc.headers), _json(exc.read(1 << 16)), f"HTTP {exc.code}")
        except TimeoutError:
            return _Answer(0, {}, None, f"no answer within {timeout:g}s")
        except urllib.error.URLError as exc:
            return _Answer(0, {}, None, f"unreachable: {_reason(exc.reason)}")
        except (OSError, ValueError) as exc:
            return _Answer(0, {}, None, f"unreachable: {type(exc).__name__}")

    def verify(self, key: str, *, admin: bool, declared_organizations: Sequence[str]) -> Verification:
        endpoint = "GET " + _path_of(self.base_url) + (ADMIN_PROJECTS.split("?")[0] if admin else MODELS)
        if self._out_of_time():
            return Verification(KeyStatus.UNKNOWN, endpoint, reason="verification time budget used up")
        answer = self._get(ADMIN_PROJECTS if admin else MODELS, key)
        status = _status(answer.status)
        if status is not KeyStatus.LIVE:
            reason = answer.reason if status is KeyStatus.UNKNOWN else ""
            return Verification(status, endpoint, reason=reason)
        header_org = answer.headers.get("openai-organization", "")
        project = answer.headers.get("openai-project", "")
        projects = [project] if PROJECT_ID.match(project) else []
        if admin and isinstance(answer.body, dict) and isinstance(answer.body.get("data"), list):
            projects += [
                p["id"] for p in answer.body["data"] if isinstance(p, dict) and isinstance(p.get("id"), str)
            ]
        organizations: list[str] = [header_org] if ORG_ID.match(header_org) else []
        if not organizations:
            budget = self.options.max_requests_per_key - 1
            for org in declared_organizations[:budget]:
                if self._out_of_time():
                    break
                if _status(self._get(ADMIN_PROJECTS if admin else MODELS, key, org).status) is KeyStatus.LIVE:
                    organizations.append(org)
        reason = "" if 200 <= answer.status < 300 else f"accepted, but HTTP {answer.status}"
        return Verification(
            KeyStatus.LIVE,
            endpoint,
            organization=organizations[0] if organizations else (header_org or None),
            organizations=tuple(organizations),
            projects=tuple(dict.fromkeys(projects)),
            reason=reason,
        )


def _status(code: int) -> KeyStatus:
    if 200 <= code < 300 or code in (403, 429):
        return KeyStatus.LIVE
    if code == 401:
        return KeyStatus.REVOKED
    return KeyStatus.UNKNOWN


def _path_of(base_url: str) -> str:
    return urlsplit(base_url).path.rstrip("/")


def _lower(headers: Message | None) -> dict[str, str]:
    if headers is None:
        return {}
    return {name.lower(): value for name, value in headers.items()}


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _reason(reason: object) -> str:
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror.lower()
    return type(reason).__name__ if not isinstance(reason, str) else reason
