"""The scanner's commands as plain typed functions returning exit codes; ``prodguard.cli`` parses the
command line and calls them."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from prodguard.config import find_config, load_project_config
from prodguard.errors import ConfigError, ScanIncomplete, UsageError
from prodguard.rules.catalogue import Catalogue, load_catalogue
from prodguard.rules.environments import key_fingerprint
from prodguard.rules.model import Kind, Severity
from prodguard.scanner.baseline import DEFAULT_BASELINE, Baseline, apply_baseline
from prodguard.scanner.blob import Blob, Origin, OriginKind
from prodguard.scanner.git import toplevel, version_control
from prodguard.scanner.gitsources import Refine, history_revisions, scan_history, scan_staged
from prodguard.scanner.introduced import changed_lines_only, introduced_only
from prodguard.scanner.progress import scan_progress
from prodguard.scanner.reports import REPORTERS, ReportOptions, VersionControl
from prodguard.scanner.reports.summary import summary_line
from prodguard.scanner.ruledocs import languages_label, render_markdown
from prodguard.scanner.run import Progress, ScanResult, scan_blobs, scan_paths
from prodguard.scanner.settings import ScanSettings, settings_from_config
from prodguard.scanner.sources import text_content

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
    history_practices: bool = False
    diff: str | None = None
    baseline: str | None = None
    # No baseline at all, not even the one found at the repository root or named in the config.
    no_baseline: bool = False
    # Finding kinds to report (``--kinds``); empty: all.
    kinds: frozenset[Kind] = frozenset()
    # With --staged: only findings on lines the staged change adds.
    changed_lines: bool = False
    # The name standard input is scanned under (``-`` / ``/dev/stdin``); its suffix picks the checks.
    stdin_filename: str | None = None
    # With --history: report only what the range introduces (the pre-push hook).
    new_only: bool = False
    quiet: bool = False
    verbose: bool = False
    # --verify: ask the API about each found OpenAI key (never without the flag).
    verify: bool = False
    verify_base_url: str | None = None
    verify_timeout: float | None = None


STDIN_PATHS = ("-", "/dev/stdin")


def load_settings(config_path: str | None, anchor: Path, environ: Mapping[str, str] | None = None) -> ScanSettings:
    """Settings from ``config_path``, else ``PRODGUARD_CONFIG``, else the nearest config file above
    ``anchor``."""
    environ = os.environ if environ is None else environ
    config_path = config_path or environ.get("PRODGUARD_CONFIG") or None
    if config_path and not Path(config_path).exists():
        raise UsageError(f"config file not found: {config_path}")
    path = Path(config_path) if config_path else find_config(anchor)
    return settings_from_config(load_project_config(path, root=Path.cwd()))


def resolve_settings(options: ScanOptions) -> ScanSettings:
    first = options.paths[0] if options.paths else None
    anchor = Path(first) if first and first not in STDIN_PATHS else Path.cwd()
    settings = load_settings(options.config, anchor)
    severity = Severity.parse(options.min_severity) if options.min_severity else None
    return settings.with_overrides(
        min_severity=severity,
        jobs=options.jobs,
        exclude=(*settings.exclude, *options.exclude) if options.exclude else None,
        max_file_size=options.max_file_size,
        gitignore=options.gitignore,
        kinds=options.kinds or None,
    )


def catalogue_for(settings: ScanSettings) -> Catalogue:
    """The configured rules: every ``rules.enable``/``rules.disable`` entry must name a rule, a family or
    a glob (an error naming the config line otherwise), minus the kinds the scan does not need."""
    full = load_catalogue(settings.packs)
    for key, entries in (("enable", settings.enable), ("disable", settings.disable)):
        for entry in entries:
            problem = full.check_selector(entry)
            if problem is not None:
                raise _config_error(settings, f"rules.{key}: {problem}", "rules", key)
    catalogue = full.select(settings.enable, settings.disable)
    if settings.kinds:
        # Value kinds feed the environment analysis, so they are kept while environment findings are wanted.
        unused = {Kind.PRACTICE} - settings.kinds
        if not settings.kinds & {Kind.SECRET, Kind.IDENTIFIER, Kind.ENVIRONMENT}:
            unused |= {Kind.SECRET, Kind.IDENTIFIER, Kind.ENVIRONMENT}
        catalogue = catalogue.without_kinds(unused)
    return catalogue


def _config_error(settings: ScanSettings, message: str, *keys: str) -> ConfigError:
    if settings.config_path is None:
        return ConfigError(message)
    return load_project_config(Path(settings.config_path)).error(message, *keys)


def find_baseline(options: ScanOptions, settings: ScanSettings) -> Baseline | None:
    """The baseline a scan applies: ``--baseline``, else the config's ``baseline``, else
    ``.prodguard-baseline.json`` at the repository root (or the config's folder outside a repository)."""
    if options.no_baseline:
        return None
    if options.baseline:
        return Baseline.load(options.baseline)
    if settings.baseline:
        return Baseline.load(settings.baseline)
    candidate = Path(default_baseline_path(options, settings))
    return Baseline.load(candidate) if candidate.is_file() else None


def report_options(options: ScanOptions) -> ReportOptions:
    """What the reporters need besides the result: quietness, and for SARIF the repository's top level
    (paths are relative to it wherever the scan ran) and its version-control provenance."""
    if options.format != "sarif":
        return ReportOptions(quiet=options.quiet)
    first = next((p for p in options.paths if os.path.exists(p) and p not in STDIN_PATHS), ".")
    root = toplevel(first)
    if root is None:
        return ReportOptions(quiet=options.quiet, source_root=Path.cwd())
    return ReportOptions(quiet=options.quiet, source_root=root, version_control=VersionControl(*version_control(root)))


def write_report(
    result: ScanResult, catalogue: Catalogue, fmt: str, output: str | None, options: ReportOptions | None = None
) -> None:
    with ExitStack() as stack:
        out: TextIO
        if output:
            try:
                out = stack.enter_context(open(output, "w", encoding="utf-8"))
            except OSError as exc:
                raise UsageError(f"cannot write {output}: {exc.strerror}") from None
        else:
            out = sys.stdout
        REPORTERS[fmt](result, catalogue, out, options)


def run_scan(
    options: ScanOptions, settings: ScanSettings, catalogue: Catalogue, progress: Progress | None = None
) -> ScanResult:
    """The scan the options select: working tree (default), staged content, or history."""
    modes = [
        m
        for m, on in (("--staged", options.staged), ("--history", options.history), ("--diff", options.diff))
        if on
    ]
    if len(modes) > 1:
        raise UsageError(f"{' and '.join(modes)} cannot be combined")
    if (options.since or options.all_refs or options.history_practices) and not options.history:
        raise UsageError("--since, --all-refs and --history-practices go with --history")
    stdin = [p for p in options.paths if p in STDIN_PATHS]
    if stdin:
        if modes or len(options.paths) > 1:
            raise UsageError("standard input (-) is scanned on its own, without other paths or modes")
        return _scan_stdin(options, settings, catalogue)
    if options.changed_lines and not options.staged:
        raise UsageError("--changed-lines goes with --staged (--diff reports only changed lines by itself)")
    if options.staged:
        refine: Refine | None = changed_lines_only if options.changed_lines else None
        result = scan_staged(".", options.paths, settings, catalogue, refine)
        _check_something_scanned(result)
        return result
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
        if options.history and not options.history_practices:
            catalogue = secrets_only(catalogue)
        refine = introduced_only(selected, settings, catalogue) if options.diff or options.new_only else None
        return scan_history(repos[0] if repos else ".", selected, settings, catalogue, refine, progress)
    return scan_paths(options.paths or (".",), settings, catalogue, progress)


def _scan_stdin(options: ScanOptions, settings: ScanSettings, catalogue: Catalogue) -> ScanResult:
    data = sys.stdin.buffer.read()
    name = options.stdin_filename or "<stdin>"
    text = text_content(data)
    if text is None:
        raise UsageError("standard input is binary; nothing to scan")
    return scan_blobs([Blob(name, text, Origin(OriginKind.STDIN))], settings, catalogue)


def _check_something_scanned(result: ScanResult) -> None:
    """Never a false all-clear: files were staged, none could be read (missing blobs of a partial clone,
    LFS pointers, files over the size limit), so nothing was scanned."""
    unreadable = {"missing", "lfs", "too_large", "unreadable", "vanished"}
    staged = result.stats.staged or 0
    if staged and result.stats.files_scanned == 0 and unreadable & set(result.stats.skipped):
        reasons = "; ".join(f"{n.path}: {n.message}" for n in result.notices[:5])
        raise ScanIncomplete(
            f"{staged} staged file{'s' if staged != 1 else ''}, none could be read, so nothing was scanned "
            f"({reasons}). Fetch the missing content (git lfs pull / git fetch) or commit with --no-verify "
            "knowing it was not checked."
        )


def secrets_only(catalogue: Catalogue) -> Catalogue:
    """The rules a history scan reports by default: secrets and identifiers, which stay exposed in every
    past version. Practice and environment rules describe the code as it is now; in code deleted long
    ago they are noise (``--history-practices`` keeps them)."""
    dropped = tuple(r.id for r in catalogue.rules if r.kind in (Kind.PRACTICE, Kind.ENVIRONMENT))
    return catalogue.select(disable=dropped)


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
    check_verify_options(options)
    baseline = find_baseline(options, settings)
    with scan_progress(options.verbose) as progress:
        result = run_scan(options, settings, catalogue, progress)
    if baseline is not None:
        result = apply_baseline(result, baseline)
    if options.verify:
        result = _verified(result, catalogue, settings, options)
    write_report(result, catalogue, options.format, options.output, report_options(options))
    if options.output and not options.quiet:
        print(f"{options.output}: {summary_line(result)}", file=sys.stderr)
    return EXIT_FINDINGS if result.findings else EXIT_CLEAN


def check_verify_options(options: ScanOptions) -> None:
    """``--verify`` reads each key again from its working-tree file: no other source has one to read."""
    if options.verify and (options.staged or options.history or options.diff):
        raise UsageError("--verify works on working-tree scans (not with --staged, --history or --diff)")
    if options.verify and any(p in STDIN_PATHS for p in options.paths):
        raise UsageError("--verify works on files, not on standard input")
    if not options.verify and (options.verify_base_url or options.verify_timeout is not None):
        raise UsageError("--verify-base-url and --verify-timeout go with --verify")


def _verified(result: ScanResult, catalogue: Catalogue, settings: ScanSettings, options: ScanOptions) -> ScanResult:
    # Imported here: a scan without --verify never loads the HTTP client.
    from prodguard.scanner.verify.apply import verify_result
    from prodguard.scanner.verify.client import VerifyOptions

    verify_options = VerifyOptions(base_url=options.verify_base_url)
    if options.verify_timeout is not None:
        verify_options = VerifyOptions(base_url=options.verify_base_url, timeout_s=options.verify_timeout)
    verified, sent = verify_result(result, catalogue, settings, verify_options, os.environ)
    print(f"verification: {sent} request{'s' if sent != 1 else ''} sent", file=sys.stderr)
    return verified


def default_baseline_path(options: ScanOptions, settings: ScanSettings) -> str:
    """Where scans look for a baseline by themselves: the config's ``baseline``, else
    ``.prodguard-baseline.json`` at the repository root (the config's folder outside a repository)."""
    if settings.baseline:
        return settings.baseline
    first = next((p for p in options.paths if p not in STDIN_PATHS and not p.startswith("-")), ".")
    root = toplevel(first if os.path.exists(first) else ".") or settings.root
    return os.path.relpath(root / DEFAULT_BASELINE)


def baseline_create(options: ScanOptions, output: str | None) -> int:
    """Write the findings of a scan as a baseline; an existing baseline's salt is kept so that an
    unchanged repository gives an unchanged file."""
    settings = resolve_settings(options)
    output = output or default_baseline_path(options, settings)
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


def baseline_audit(options: ScanOptions, baseline_path: str | None, prune: bool, fmt: str) -> int:
    """List baseline entries with where they are now; entries no longer found are prunable."""
    settings = resolve_settings(options)
    baseline_path = baseline_path or default_baseline_path(options, settings)
    baseline = Baseline.load(baseline_path)
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
    ordered = sorted(catalogue.rules, key=lambda r: r.id)
    enabled = catalogue.select(settings.enable, settings.disable).ids()
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
                "enabled": r.id in enabled,
                "source": Path(r.source).name,
            }
            for r in ordered
        ]
        json.dump(rows, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return EXIT_CLEAN
    from prodguard.scanner.reports.rules_table import print_rules

    print_rules(ordered, enabled, sys.stdout)
    return EXIT_CLEAN


def rules_show(rule_id: str, config: str | None, fmt: str = "text") -> int:
    settings = load_settings(config, Path.cwd())
    rule = load_catalogue(settings.packs).get(rule_id.upper())
    if rule is None:
        raise UsageError(f"no rule {rule_id!r}; `prodguard rules list` shows them all")
    if fmt == "markdown":
        print(render_markdown(rule))
        return EXIT_CLEAN
    from prodguard.scanner.reports.rules_table import print_rule_page

    print_rule_page(render_markdown(rule), sys.stdout)
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
