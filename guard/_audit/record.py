"""What the guard writes to the audit log for one call. Only redacted forms: the request as it left the
process (placeholders, no secrets), the answer before PII was restored, never keys or raw PII."""

from __future__ import annotations

import hashlib
import json
import time
from datetime import UTC, datetime
from typing import Any

from prodguard.guard._call import Call
from prodguard.guard._policy.policy import Policy


def _usage(usage: Any) -> dict[str, Any] | None:
    if not isinstance(usage, dict):
        return None
    return {k: v for k, v in usage.items() if isinstance(v, int)}


def _digest(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return "sha256:" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def audit_record(policy: Policy, call: Call, *, error: BaseException | None = None) -> dict[str, Any]:
    content = policy.audit.content
    record: dict[str, Any] = {
        "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "environment": policy.running_environment,
        "organization": call.client.organization,
        "project": call.client.project,
        "key_fingerprint": call.client.key_fingerprint[:15] + "…" if call.client.key_fingerprint else None,
        "endpoint": call.route.name,
        "model": call.model or None,
        "stream": call.stream,
        "usage": _usage(call.usage),
        "moderation": [{"where": m.where, "flagged": m.flagged, "categories": list(m.categories)} for m in call.moderation],
        "decisions": list(call.decisions),
        "latency_ms": round((time.perf_counter() - call.started) * 1000, 3),
        "end_user": call.end_user_hash,
        "error": type(error).__name__ if error is not None else None,
    }
    body = call.body if isinstance(call.body, dict) else {}
    request = {k: v for k, v in body.items() if k in ("messages", "input", "instructions", "prompt")}
    if content == "redacted":
        record["request"] = request
        record["response"] = call.output
    elif content == "hashes":
        record["request"] = _digest(request) if request else None
        record["response"] = [_digest(t) for t in call.output]
    return record
