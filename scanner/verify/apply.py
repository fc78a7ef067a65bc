"""``scan --verify``: find the key material behind each OpenAI key finding again (findings keep only
its hash), ask the API about each distinct key once, and attach the answer to every finding of that key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from prodguard.rules.catalogue import Catalogue
from prodguard.rules.environments import EnvironmentPolicy, key_fingerprint
from prodguard.scanner.envanalysis import OPENAI_KEY_RULES, context_of
from prodguard.scanner.finding import Finding, hash_secret
from prodguard.scanner.run import ScanResult
from prodguard.scanner.settings import ScanSettings
from prodguard.scanner.sources import FileEntry, read_entry
from prodguard.scanner.verify.client import Verifier, VerifyOptions, resolve_base_url
from prodguard.scanner.verify.model import KeyStatus, Verification

ADMIN_KEY_RULE = "PG104"


def recover_keys(
    findings: list[Finding], catalogue: Catalogue, max_file_size: int
) -> dict[str, tuple[str, str]]:
    """secret hash -> (key, rule id) for the OpenAI key findings, read again from their files."""
    wanted: dict[str, set[str]] = {}
    for f in findings:
        if f.rule_id in OPENAI_KEY_RULES:
            wanted.setdefault(f.path, set()).add(f.secret_hash)
    keys: dict[str, tuple[str, str]] = {}
    rules = [r for r in catalogue.rules if r.id in OPENAI_KEY_RULES and r.pattern]
    for path, hashes in wanted.items():
        data, _notice, _skipped = read_entry(FileEntry(path, path, -1), max_file_size)
        if data is None:
            continue
        for rule in rules:
            for match in rule.regex.finditer(data):
                start, end = match.span(rule.secret_group)
                if start < 0:
                    continue
                secret = data[start:end]
                digest = hash_secret(secret)
                if digest in hashes and digest not in keys:
                    keys[digest] = (secret.decode("ascii", "replace"), rule.id)
    return keys


def verify_result(
    result: ScanResult,
    catalogue: Catalogue,
    settings: ScanSettings,
    options: VerifyOptions,
    environ: Mapping[str, str],
) -> tuple[ScanResult, int]:
    """The result with a ``verification`` on every finding of a verified key; and the requests sent."""
    verifier = Verifier(resolve_base_url(options, environ), options)
    keys = recover_keys(result.findings, catalogue, settings.max_file_size)
    policy = settings.environments
    declared_orgs = [org for env in policy.environments for org in env.organizations]
    answers: dict[str, Verification] = {}
    for finding in result.findings:
        digest = finding.secret_hash
        if finding.rule_id not in OPENAI_KEY_RULES or digest in answers:
            continue
        if digest not in keys:
            answers[digest] = Verification(KeyStatus.UNKNOWN, "", reason="key not found again in its file")
            continue
        key, rule_id = keys[digest]
        answer = verifier.verify(key, admin=rule_id == ADMIN_KEY_RULE, declared_organizations=declared_orgs)
        declared = policy.owner_of(key_fingerprint(key))
        answers[digest] = replace(_owner(answer, policy), declared_for=declared.name if declared else None)
    findings = [_attach(f, answers.get(f.secret_hash), policy, settings.root) for f in result.findings]
    return replace(result, findings=findings), verifier.requests_sent


def _owner(answer: Verification, policy: EnvironmentPolicy) -> Verification:
    """The declared environment owning the organizations or projects the key belongs to."""
    for value in (*answer.organizations, *answer.projects, answer.organization or ""):
        env = policy.owner_of(value) if value else None
        if env is not None:
            return replace(answer, environment=env.name)
    return answer


def _attach(finding: Finding, answer: Verification | None, policy: EnvironmentPolicy, root: Path) -> Finding:
    if answer is None:
        return finding
    owner = policy.get(answer.environment) if answer.environment else None
    context = context_of(finding, policy, root)
    mismatch = False
    if owner is not None and answer.declared_for is not None:
        # The key's fingerprint is declared for one environment, the API says it is another's.
        mismatch = answer.declared_for != owner.name
    if owner is not None and context is not None:
        # Another tier always counts (a production key in a staging file); another declared environment
        # of the same tier too; an inferred context ("tests/") only by its tier.
        mismatch = (
            mismatch
            or owner.tier is not context.tier
            or (not context.inferred and context.name != owner.name)
        )
    found_in = context.name if context else None
    return replace(finding, verification=replace(answer, found_in=found_in, mismatch=mismatch))
