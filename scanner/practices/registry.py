"""The practice check registry: rule id -> the checks that implement it per language. Explicit (no
discovery); the rule's metadata lives in the rule pack under the same id."""

from __future__ import annotations

from dataclasses import dataclass

from prodguard.scanner.practices import (
    call_checks,
    client_checks,
    js_checks,
    js_client_checks,
    request_checks,
)
from prodguard.scanner.practices.model import Language, PracticeCheck, ScriptCheck


@dataclass(frozen=True)
class PracticeRule:
    """How one rule is checked: a Python check, a JavaScript/TypeScript check, and whether test code is
    checked too (literal keys and insecure transports are; disabled retries, token caps, logging,
    moderation and the like are normal in tests)."""

    python: PracticeCheck | None = None
    script: ScriptCheck | None = None
    in_tests: bool = False

    @property
    def languages(self) -> tuple[Language, ...]:
        covered = [Language.PYTHON] if self.python else []
        if self.script:
            covered += [Language.JAVASCRIPT, Language.TYPESCRIPT]
        return tuple(covered)

    def covers(self, language: Language) -> bool:
        return language in self.languages


# Every check but PG301's own hides literal keys on the lines it reports.
_hide = client_checks.hiding_literal_keys
_hide_js = js_checks.hiding_literal_keys

CHECKS: dict[str, PracticeRule] = {
    "PG207": PracticeRule(
        _hide(client_checks.client_without_organization),
        _hide_js(js_client_checks.client_without_organization),
    ),
    "PG301": PracticeRule(client_checks.literal_api_key, js_checks.literal_api_key, in_tests=True),
    "PG302": PracticeRule(
        _hide(client_checks.literal_organization), _hide_js(js_checks.literal_organization), in_tests=True
    ),
    "PG303": PracticeRule(
        _hide(client_checks.plain_http_base_url), _hide_js(js_checks.plain_http_base_url), in_tests=True
    ),
    "PG304": PracticeRule(
        _hide(client_checks.tls_verification_disabled),
        _hide_js(js_client_checks.tls_verification_disabled),
        in_tests=True,
    ),
    "PG305": PracticeRule(_hide(client_checks.retries_disabled), _hide_js(js_checks.retries_disabled)),
    "PG306": PracticeRule(_hide(call_checks.uncapped_generation), _hide_js(js_checks.uncapped_generation)),
    "PG307": PracticeRule(
        _hide(call_checks.logged_prompt_or_response), _hide_js(js_checks.logged_prompt_or_response)
    ),
    "PG308": PracticeRule(
        _hide(call_checks.unmoderated_user_generation), _hide_js(js_checks.unmoderated_user_generation)
    ),
    "PG309": PracticeRule(_hide(call_checks.missing_end_user_id), _hide_js(js_checks.missing_end_user_id)),
    "PG311": PracticeRule(
        _hide(request_checks.user_input_in_system_prompt), _hide_js(js_checks.user_input_in_system_prompt)
    ),
    "PG312": PracticeRule(_hide(request_checks.ignored_moderation), _hide_js(js_checks.ignored_moderation)),
    "PG313": PracticeRule(
        _hide(request_checks.unhandled_api_errors), _hide_js(js_checks.unhandled_api_errors)
    ),
    "PG314": PracticeRule(
        _hide(request_checks.client_without_timeout), _hide_js(js_checks.client_without_timeout)
    ),
    "PG315": PracticeRule(_hide(request_checks.unchecked_refusal), _hide_js(js_checks.unchecked_refusal)),
}


def languages_of(rule_id: str) -> tuple[Language, ...]:
    """The languages an AST rule covers; empty for rules that are not practice checks."""
    entry = CHECKS.get(rule_id)
    return entry.languages if entry is not None else ()
