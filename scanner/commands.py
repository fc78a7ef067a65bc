"""The scanner's commands as plain typed functions returning exit codes; ``prodguard.cli`` parses the
command line and calls them."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from prodguard.config import find_config, load_project_config
from prodguard.errors import UsageError
from prodguard.rules.catalogue import Catalogue, load_catalogue
from prodguard.rules.environments import key_fingerprint
from prodguard.rules.model import Severity
from prodguard.scanner.baseline import Baseline, apply_baseline
from prodguard.scanner.gitsources import history_revisions, scan_history, scan_staged
from prodguard.scanner.reports import REPORTERS
from prodguard.scanner.ruledocs import languages_label, render_markdown
from prodguard.scanner.run import ScanResult, scan_paths
from prodguard.scanner.settings import ScanSettings, settings_from_config

EXIT_CLEAN = 0
EXIT_FINDINGS = 1


@dataclass(frozen=True)
class ScanOptions:
    """What the command line asked for; ``None`` keeps the configured value."""

    paths: tuple[str, ...]
    format: str = "text"
    output: str | None = None
    config: str | None = None
    min_severity: str | None = None
    jobs: int | None = None
    exclude: tuple[str, ...] = ()
    max_file_size: int | None = None
    gitignore: bool | None = None
    staged: bool = False
    history: bool = False
    since: str | None = None
    all_refs: bool = False
    diff: str | None = None
    baseline: str | None = None


def load_settings(config_path: str | None, anchor: Path) -> ScanSettings:
    path = Path(config_path) if config_path else find_config(anchor)
    if config_path and not Path(config_path).is_file():
        raise UsageError(f"config file not found: {config_path}")
    return settings_from_config(load_project_config(path, root=Path.cwd()))


def resolve_settings(options: ScanOptions) -> ScanSettings:
    anchor = Path(options.paths[0]) if options.paths else Path.cwd()
    settings = load_settings(options.config, anchor)
    severity = Severity.parse(options.min_severity) if options.min_severity else None
    return settings.with_overrides(
        min_severity=severity,
        jobs=options.jobs,
        exclude=(*settings.exclude, *options.exclude) if options.exclude else None,
        max_file_size=options.max_file_size,
        gitignore=options.gitignore,
    )


def catalogue_for(settings: ScanSettings) -> Catalogue:
    return load_catalogue(settings.packs).select(settings.enable, settings.disable)


def write_report(result: ScanResult, catalogue: Catalogue, fmt: str, output: str | None) -> None:
    with ExitStack() as stack:
        out: TextIO
        if output:
            try:
                out = stack.enter_context(open(output, "w", encoding="utf-8"))
            except OSError as exc:
                raise UsageError(f"cannot write {output}: {exc.strerror}") from None
        else:
            out = sys.stdout
        REPORTERS[fmt](result, catalogue, out)


def run_scan(options: ScanOptions, settings: ScanSettings, catalogue: Catalogue) -> ScanResult:
    """The scan the options select: working tree (default), staged content, or history."""
    modes = [
        m
        for m, on in (("--staged", options.staged), ("--history", options.history), ("--diff", options.diff))
        if on
    ]
    if len(modes) > 1:
        raise UsageError(f"{' and '.join(modes)} cannot be combined")
    if (options.since or options.all_refs) and not options.history:
        raise UsageError("--since and --all-refs go with --history")
    if options.staged:
        return scan_staged(".", options.paths, settings, catalogue)
    if options.history or options.diff:
        repos = [p for p in options.paths if Path(p).is_dir()]
        revisions = [p for p in options.paths if not Path(p).is_dir()]
        if len(repos) > 1:
            raise UsageError("--history scans one repository at a time")
        if options.diff:
            if revisions:
                raise UsageError("--diff takes no revision arguments; it scans BASE..HEAD")
            revisions = [f"{options.diff}..HEAD"]
        selected = history_revisions(revisions, options.since, options.all_refs)
        return scan_history(repos[0] if repos else ".", selected, settings, catalogue)
    return scan_paths(options.paths or (".",), settings, catalogue)


def pre_push_revisions(environ: Mapping[str, str]) -> list[str]:
    """The commits a push sends: FROM..TO from pre-commit's variables; a new branch (FROM is all zeros) or
    no variables at all: what no remote-tracking branch has yet."""
    source, target = environ.get("PRE_COMMIT_FROM_REF", ""), environ.get("PRE_COMMIT_TO_REF", "")
    if target and source and set(source) != {"0"}:
        return [f"{source}..{target}"]
    return [target or "HEAD", "--not", "--remotes"]


def scan(options: ScanOptions) -> int:
    """``prodguard scan``: exit 0 when clean, 1 when a finding is at or above the threshold."""
    settings = resolve_settings(options)
    catalogue = catalogue_for(settings)
    result = run_scan(options, settings, catalogue)
    if options.baseline:
        result = apply_baseline(result, Baseline.load(options.baseline))
    write_report(result, catalogue, options.format, options.output)
    return EXIT_FINDINGS if result.findings else EXIT_CLEAN


def baseline_create(options: ScanOptions, output: str) -> int:
    """Write the findings of a scan as a baseline; an existing baseline's salt is kept so that an
    unchanged repository gives an unchanged file."""
    settings = resolve_settings(options)
    catalogue = catalogue_for(settings)
    result = run_scan(options, settings, catalogue)
    target = Path(output)
    existing = Baseline.load(target) if target.exists() else None
    baseline = Baseline.new(target.parent, existing.salt if existing else None).with_findings(result.findings)
    baseline.dump(target)
    print(
        f"wrote {len(baseline.entries)} entr{'y' if len(baseline.entries) == 1 else 'ies'} to {output}",
        file=sys.stderr,
    )
    return EXIT_CLEAN


def baseline_audit(options: ScanOptions, baseline_path: str, prune: bool, fmt: str) -> int:
    """List baseline entries with where they are now; entries no longer found are prunable."""
    baseline = Baseline.load(baseline_path)
    settings = resolve_settings(options)
    catalogue = catalogue_for(settings)
    result = run_scan(options, settings, catalogue)
    located: dict[tuple[str, str, str], list[str]] = {entry: [] for entry in baseline.entries}
    for finding in [*result.findings, *result.suppressed]:
        identity = baseline.identity(finding)
        if identity in located:
            located[identity].append(f"{finding.path}:{finding.line}")
    rows: list[dict[str, Any]] = [
        {
            "rule_id": r,
            "path": p,
            "hash": h[:12],
            "locations": sorted(located[(r, p, h)]),
            "prunable": not located[(r, p, h)],
        }
        for r, p, h in sorted(located, key=lambda e: (e[1], e[0], e[2]))
    ]
    if fmt == "json":
        json.dump(rows, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        for row in rows:
            where = ", ".join(row["locations"]) if row["locations"] else "not found (prunable)"
            print(f"{row['rule_id']}  {row['path']}  {row['hash']}  {where}")
        stale = sum(1 for row in rows if row["prunable"])
        print(f"{len(rows)} entries, {stale} prunable", file=sys.stderr)
    if prune:
        keep = frozenset(e for e, where in located.items() if where)
        Baseline(baseline.salt, baseline.root, keep).dump(baseline_path)
        print(f"pruned {len(located) - len(keep)} entries from {baseline_path}", file=sys.stderr)
    return EXIT_CLEAN


def rules_list(fmt: str, config: str | None) -> int:
    settings = load_settings(config, Path.cwd())
    catalogue = load_catalogue(settings.packs)
    if fmt == "json":
        rows = [
            {
                "id": r.id,
                "name": r.name,
                "title": r.title,
                "kind": r.kind.value,
                "severity": r.severity.label,
                "provider": r.provider,
                "keywords": list(r.keywords),
                "languages": languages_label(r),
                "enabled": r.id in catalogue.select(settings.enable, settings.disable).ids(),
                "source": Path(r.source).name,
            }
            for r in catalogue.rules
        ]
        json.dump(rows, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return EXIT_CLEAN
    width = max((len(r.title) for r in catalogue.rules), default=10)
    for r in catalogue.rules:
        languages = languages_label(r).replace("python, javascript, typescript", "py, js, ts")
        print(f"{r.id}  {r.severity.label:<8}  {r.kind.value:<11}  {languages:<13}  {r.title:<{width}}  {r.name}")
    return EXIT_CLEAN


def rules_show(rule_id: str, config: str | None) -> int:
    settings = load_settings(config, Path.cwd())
    rule = load_catalogue(settings.packs).get(rule_id.upper())
    if rule is None:
        raise UsageError(f"no rule {rule_id!r}; `prodguard rules list` shows them all")
    print(render_markdown(rule))
    return EXIT_CLEAN


def fingerprint(stdin: TextIO, environ: Mapping[str, str], *, use_env: bool) -> int:
    """Print the ``sha256:`` fingerprint of a key read from standard input (when piped) or from
    ``OPENAI_API_KEY``. The key is never echoed, not even in part."""
    key = ""
    if not use_env and not stdin.isatty():
        key = stdin.read().strip()
    if not key:
        key = environ.get("OPENAI_API_KEY", "").strip()
    if not key:
        raise UsageError("no key: pipe it on standard input or set OPENAI_API_KEY")
    if len(key.split()) != 1:
        raise UsageError("expected exactly one key (one line, no spaces)")
    print(key_fingerprint(key))
    return EXIT_CLEAN
