"""Every resource method of the installed ``openai`` SDK, and what the guard does with it.

The guard does not keep a list of routes to guard: it sits where every request is sent, inspects any
JSON body and refuses uploads and WebSockets it cannot inspect (``_routes``). This module lists the
SDK's methods and classifies each from its source, so that docs/guard-routes.md says what happens to
every one, and a test fails when the SDK grows a method the listing does not know yet.

Regenerate the listing with ``python -m prodguard.guard._sdk_routes > docs/guard-routes.md``.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator
from typing import Any

DECISIONS = {
    "json": "guarded: the final JSON body is inspected, the answer rewritten",
    "read": "no content sent (identifiers and query options); environment checked, JSON answer scrubbed",
    "upload": 'refused before sending unless `unguarded = "warn"` or `"allow"` (multipart/binary upload)',
    "websocket": 'refused unless `unguarded = "warn"` or `"allow"` (realtime WebSocket)',
    "local": "no request of its own (a helper over other methods, or local computation)",
}
_SKIP = frozenset({"with_raw_response", "with_streaming_response", "with_options", "copy"})


def classify_method(function: Any, name: str) -> str:
    try:
        source = inspect.getsource(function)
    except (OSError, TypeError):
        return "local"
    if name == "connect" or ("websocket" in source.lower() and "def connect" in source):
        return "websocket"
    if re.search(r"\bfiles=|multipart/form-data|content=.*(body|file)", source):
        return "upload"
    if re.search(r"self\._(post|patch|put)\(", source):
        return "json"
    if re.search(r"self\._(get|delete|get_api_list)\(", source):
        return "read"
    return "local"


def sdk_methods() -> Iterator[tuple[str, str]]:
    """(dotted method path, decision) for every public resource method of ``OpenAI``, sorted."""
    import openai
    from openai._resource import SyncAPIResource

    client = openai.OpenAI(api_key="sk-listing", base_url="http://127.0.0.1:9/v1")
    found: dict[str, str] = {}
    seen: set[int] = set()

    def walk(resource: Any, prefix: str) -> None:
        if id(resource) in seen:
            return
        seen.add(id(resource))
        for name in dir(type(resource)):
            if name.startswith("_") or name in _SKIP:
                continue
            attribute = inspect.getattr_static(type(resource), name)
            if isinstance(attribute, property) or hasattr(attribute, "func"):  # cached_property: a sub-resource
                child = getattr(resource, name)
                if isinstance(child, SyncAPIResource):
                    walk(child, f"{prefix}{name}.")
            elif inspect.isfunction(attribute):
                found[prefix + name] = classify_method(attribute, name)

    for name in dir(type(client)):
        if name.startswith("_") or name in _SKIP:
            continue
        attribute = inspect.getattr_static(type(client), name)
        if hasattr(attribute, "func") or isinstance(attribute, property):
            try:
                child = getattr(client, name)
            except Exception:
                continue
            if isinstance(child, SyncAPIResource):
                walk(child, name + ".")
    yield from sorted(found.items())


def listing() -> str:
    import openai

    lines = [
        "# What the guard does with each SDK method",
        "",
        f"Generated from openai {openai.__version__} by `python -m prodguard.guard._sdk_routes`; a test",
        "regenerates it and fails on any difference (a new SDK method must be classified here first).",
        "Async methods behave like their sync twins; `with_raw_response`/`with_streaming_response` like the",
        "method they wrap.",
        "",
        "| method | decision |",
        "|---|---|",
    ]
    lines += [f"| `{path}` | {kind}: {DECISIONS[kind]} |" for path, kind in sdk_methods()]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(listing(), end="")
