"""One source for a rule's documentation: the pack entry renders to ``docs/rules/<ID>.md``, to
``prodguard rules show`` and (through the scanner's SARIF reporter) to SARIF rule metadata.

``python -m prodguard.scanner.ruledocs docs/rules`` regenerates the pages; a test fails when a page is missing
or differs from what the catalogue renders.
"""

from __future__ import annotations

import sys
from pathlib import Path

from prodguard.rules.catalogue import Catalogue, load_catalogue
from prodguard.rules.model import Rule
from prodguard.scanner.practices.registry import CHECKS, languages_of


def languages_label(rule: Rule) -> str:
    """What a rule reads: the languages of its code check, or every text file for a pattern rule."""
    covered = languages_of(rule.id)
    if covered:
        return ", ".join(str(language) for language in covered)
    return "any text file" if rule.pattern else "none"


SECTIONS = ("## What it does", "## Why is this bad?", "## Example", "## How to fix")


def _redacted_example(rule: Rule, text: str) -> str:
    """Examples in docs are shown as the scanner would show them: redacted (docs are published)."""
    from prodguard.scanner.blob import Blob
    from prodguard.scanner.engine import Engine

    engine = Engine([rule])
    lines = text.splitlines()
    findings = engine.scan(Blob("example", text.encode("utf-8")))
    for finding in sorted(findings, key=lambda f: f.line, reverse=True):
        # A multi-line secret (a PEM body) continues past its first line: drop the lines it fills and
        # keep only what follows it on its last line, so no part of the body is published.
        rest = (
            lines[finding.end_line - 1][finding.end_column - 1 :] if finding.end_line > finding.line else ""
        )
        # The excerpt is stripped; the example keeps the line's indentation.
        line = lines[finding.line - 1]
        indent = line[: len(line) - len(line.lstrip())]
        lines[finding.line - 1 : finding.end_line] = [indent + finding.excerpt] + ([rest] if rest else [])
    return "\n".join(lines)


def _fenced(examples: list[tuple[str, str]]) -> list[str]:
    """One fenced, language-tagged block per example (examples in one block read as one program)."""
    lines: list[str] = []
    for tag, example in examples:
        lines += [f"```{tag}", example.strip("\n"), "```", ""]
    return lines


def render_markdown(rule: Rule) -> str:
    parts = [
        f"# {rule.id}: {rule.title}",
        "",
        f"- **Name:** `{rule.name}`",
        f"- **Kind:** {rule.kind.value}",
        f"- **Severity:** {rule.severity.label}",
    ]
    if rule.provider:
        parts.append(f"- **Provider:** {rule.provider}")
    if rule.keywords:
        parts.append("- **Keywords:** " + ", ".join(f"`{k}`" for k in rule.keywords))
    parts.append(f"- **Languages:** {languages_label(rule)}")
    entry = CHECKS.get(rule.id)
    if entry is not None:
        parts.append(
            "- **Test code:** "
            + (
                "checked too"
                if entry.in_tests
                else "not checked (files matching `test_paths`, judged relative to the repository root; "
                "see the README)"
            )
        )
    parts += ["", SECTIONS[0], "", rule.description, "", SECTIONS[1], "", rule.why, "", SECTIONS[2], ""]
    examples = rule.examples
    # Pattern rules read any text file; a code check's examples are Python, then TypeScript.
    tag = "text" if rule.pattern else "python"
    shown = [_redacted_example(rule, example) if rule.pattern else example for example in examples.match[:2]]
    reported = [(tag, example) for example in shown] + [("ts", e) for e in examples.match_typescript[:2]]
    ignored = [(tag, e) for e in examples.ignore[:3]] + [("ts", e) for e in examples.ignore_typescript[:2]]
    parts += _fenced(reported) if reported else ["(no example)", ""]
    if ignored:
        parts += ["Not reported:", "", *_fenced(ignored)]
    parts += [SECTIONS[3], "", rule.remediation, ""]
    if rule.references:
        parts += ["## References", ""] + [f"- <{ref}>" for ref in rule.references] + [""]
    return "\n".join(parts)


def write_pages(catalogue: Catalogue, directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for rule in catalogue.rules:
        path = directory / f"{rule.id}.md"
        path.write_text(render_markdown(rule), encoding="utf-8")
        written.append(path)
    index = ["# Rules", "", "| id | title | kind | severity | languages |", "|---|---|---|---|---|"]
    index += [
        f"| [{r.id}]({r.id}.md) | {r.title} | {r.kind.value} | {r.severity.label} | {languages_label(r)} |"
        for r in catalogue.rules
    ]
    (directory / "README.md").write_text("\n".join(index) + "\n", encoding="utf-8")
    return written


def main(argv: list[str]) -> int:
    target = Path(argv[0] if argv else "docs/rules")
    pages = write_pages(load_catalogue(), target)
    print(f"wrote {len(pages)} rule pages to {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
