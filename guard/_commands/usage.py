"""``prodguard usage``: current spend and remaining budget per scope, read from the state backend.

One row per budget, subject and limited metric of the current period (UTC day or month): what was
spent, what calls in flight have reserved, the hard limit and what remains. Subjects are as the guard
counts them: project ids, model names, tag values, and *hashed* end-user ids.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, TextIO

from prodguard.guard._budget import _period, parse_counter_key
from prodguard.guard._errors import GuardUnavailable
from prodguard.guard._policy.limits import BudgetRule
from prodguard.guard._policy.policy import Policy
from prodguard.guard._prices import usd
from prodguard.guard._state.backend import CounterState, StateUnavailable, open_backend

_METRICS = (("requests", 0), ("tokens", 1), ("cost_usd", 2))


def usage(config: str | None, fmt: str, out: TextIO) -> int:
    """Print the usage report; returns the exit code (0)."""
    policy = Policy.load(config)
    if not policy.budgets:
        out.write("prodguard: no budgets configured in [tool.prodguard.guard] budgets\n")
        return 0
    try:
        rows = usage_rows(policy)
    except StateUnavailable as exc:
        raise GuardUnavailable(f"cannot read usage: {exc}") from None
    if fmt == "json":
        out.write(json.dumps({"backend": _shown_backend(policy.backend), "budgets": rows}, indent=2) + "\n")
        return 0
    out.write(f"backend: {_shown_backend(policy.backend)}\n")
    if not rows:
        out.write("no usage recorded in the current periods\n")
        return 0
    header = ("budget", "subject", "period", "metric", "spent", "reserved", "limit", "remaining")
    table = [header] + [
        (
            r["budget"],
            r["subject"],
            r["period"],
            r["metric"],
            _fmt(r["spent"]),
            _fmt(r["reserved"]),
            _fmt(r["limit"]),
            _fmt(r["remaining"]),
        )
        for r in rows
    ]
    widths = [max(len(str(row[i])) for row in table) for i in range(len(header))]
    for row in table:
        out.write("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() + "\n")
    return 0


def usage_rows(policy: Policy) -> list[dict[str, Any]]:
    """The report as plain data (also the ``--format json`` output)."""
    url = policy.backend
    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///") :]).exists():
        return []  # nothing was ever counted; do not create the file just to read it
    backend = open_backend(url)
    prefix = policy.accounting.key_prefix
    now = time.time()
    rows: list[dict[str, Any]] = []
    for rule in policy.budgets:
        period_id = _period(rule.period, now)[0]
        for state in backend.counters(f"{{{prefix}}}:b:{rule.scope}:"):
            parsed = parse_counter_key(state.key)
            if parsed is None or parsed[0] != rule.scope or parsed[2] != rule.period or parsed[3] != period_id:
                continue
            rows.extend(_rows(rule, parsed[1], period_id, state))
    return rows


def _rows(rule: BudgetRule, subject: str, period_id: str, state: CounterState) -> list[dict[str, Any]]:
    rows = []
    for metric, index in _METRICS:
        hard = getattr(rule, f"max_{metric}")
        soft = getattr(rule, f"soft_{metric}")
        if hard is None and soft is None:
            continue
        convert = usd if index == 2 else int
        spent, reserved = convert(state.spent[index]), convert(state.reserved[index])
        rows.append(
            {
                "budget": rule.label,
                "scope": rule.scope,
                "subject": subject,
                "period": period_id,
                "metric": metric,
                "spent": spent,
                "reserved": reserved,
                "soft_limit": soft,
                "limit": hard,
                "remaining": None if hard is None else max(hard - spent - reserved, 0),
            }
        )
    return rows


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.6f}"
    return str(value)


def _shown_backend(url: str) -> str:
    """The backend without credentials (a Redis URL may carry a password)."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://…@{rest.rsplit('@', 1)[1]}"
    return url
