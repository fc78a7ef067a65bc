"""The scanner's commands as plain typed functions returning exit codes; ``prodguard.cli`` parses the
command line and calls them."""

from __future__ import annotations

import json
import sys
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from prodguard.config import find_config, load_project_config
from prodguard.errors import UsageError
from prodguard.rules.catalogue import Catalogue, load_catalogue
from prodguard.rules.model import Severity
from prodguard.scanner.reports import REPORTERS
from prodguard.scanner.ruledocs import render_markdown
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


def scan(options: ScanOptions) -> int:
    """``prodguard scan``: exit 0 when clean, 1 when a finding is at or above the threshold."""
    settings = resolve_settings(options)
    catalogue = catalogue_for(settings)
    result = scan_paths(options.paths or (".",), settings, catalogue)
    write_report(result, catalogue, options.format, options.output)
    return EXIT_FINDINGS if result.findings else EXIT_CLEAN


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
        print(f"{r.id}  {r.severity.label:<8}  {r.kind.value:<11}  {r.title:<{width}}  {r.name}")
    return EXIT_CLEAN


def rules_show(rule_id: str, config: str | None) -> int:
    settings = load_settings(config, Path.cwd())
    rule = load_catalogue(settings.packs).get(rule_id.upper())
    if rule is None:
        raise UsageError(f"no rule {rule_id!r}; `prodguard rules list` shows them all")
    print(render_markdown(rule))
    return EXIT_CLEAN
