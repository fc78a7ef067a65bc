"""Which API route a request addresses, and what kind of body it carries.

The guard meets the SDK where it sends (``_send_request``), so it sees every route the SDK has, today's
and tomorrow's. A route is named from the request path relative to the client's base URL (Azure's
``deployments/<name>/`` prefix removed; identifiers replaced by ``{id}``), e.g. ``POST /chat/completions``
or ``POST /conversations/{id}/items``. The body kind decides what the guard can do with it:

- ``json``: every string of the final body is inspected (guarded);
- ``none``: nothing but identifiers and query options is sent (the environment check still runs);
- ``multipart`` / ``binary``: uploads the guard cannot rewrite; refused unless the policy's
  ``unguarded`` key says ``"warn"`` or ``"allow"``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

BodyKind = Literal["json", "none", "multipart", "binary"]
Kind = Literal["chat", "responses", "embeddings", "completions", "moderations", "other"]

_AZURE_DEPLOYMENT = re.compile(r"^deployments/[^/]+/")
_KINDS: dict[str, Kind] = {
    "POST /chat/completions": "chat",
    "POST /responses": "responses",
    "POST /embeddings": "embeddings",
    "POST /completions": "completions",
    "POST /moderations": "moderations",
}
# Routes whose answer is generated text that output moderation reads and input moderation checks.
GENERATING: frozenset[Kind] = frozenset({"chat", "responses", "completions"})


@dataclass(frozen=True)
class Route:
    name: str  # "POST /chat/completions"
    body: BodyKind
    kind: Kind

    @property
    def generating(self) -> bool:
        return self.kind in GENERATING


def _segment(part: str) -> str:
    # Identifiers (resp_68a..., file-abc123, vs_9...) carry digits, capitals or dashes; route words never do.
    if any(ch.isdigit() or ch.isupper() or ch == "-" for ch in part):
        return "{id}"
    return part


def route_name(method: str, path: str, base_path: str) -> str:
    """``POST /conversations/{id}/items`` for ``path`` under the client's ``base_path``."""
    relative = path[len(base_path) :] if base_path and path.startswith(base_path) else path
    relative = _AZURE_DEPLOYMENT.sub("", relative.strip("/"))
    return f"{method.upper()} /" + "/".join(_segment(p) for p in relative.split("/") if p)


@lru_cache(maxsize=1024)
def classify(method: str, path: str, base_path: str, content_type: str | None, has_body: bool) -> Route:
    name = route_name(method, path, base_path)
    body: BodyKind
    if not has_body:
        body = "none"
    elif content_type is not None and content_type.split(";")[0].strip().lower() == "application/json":
        body = "json"
    elif content_type is not None and content_type.lower().startswith("multipart/"):
        body = "multipart"
    else:
        body = "binary"
    return Route(name, body, _KINDS.get(name, "other"))
