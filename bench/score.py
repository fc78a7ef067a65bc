"""Score prodguard, detect-secrets and CredSweeper on the labelled corpus, in one run, line by line.

    python bench/score.py [--corpus bench/corpus] [--no-results]

Every tool scans ``CORPUS/tree``; each reported location is matched to a label (a line, or a line range for
multi-line items; for prodguard's notebook findings, the cell). A *unit* is a label hit or an unlabelled
flagged line, counted once however many rules fire on it:
  precision = positive labels hit / all units flagged;  recall = positive labels hit / positive labels.
Per-kind precision attributes a false unit to the kind the firing rule mostly finds (its majority positive
kind); a rule that never hits a positive stays "unattributed". Details go to bench/out/score.json and the
``detection`` section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchtools import BENCH, machine, peer, prodguard_command, table, today, update_section, version_of

OPENAI_GROUP = "openai"
SCORED_KINDS = ("secret", "identifier")  # prodguard practice findings are not credential detections


@dataclass(frozen=True)
class Hit:
    path: str
    line: int
    rule: str
    cell: int | None = None


@dataclass
class ToolRun:
    name: str
    command: str
    hits: list[Hit]
    seconds: float
    version: str
    ignored: int = 0  # findings left out of scoring (prodguard practice findings)


def _norm(path: str) -> str:
    return path[2:] if path.startswith("./") else path


def run_prodguard(tree: Path) -> ToolRun:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "pg.json"
        command = [
            *prodguard_command(),
            "scan",
            ".",
            "--format",
            "json",
            "--min-severity",
            "info",
            "--no-gitignore",
            "-o",
            str(out),
        ]
        started = time.perf_counter()
        subprocess.run(command, cwd=tree, check=False, stdout=subprocess.DEVNULL)
        seconds = time.perf_counter() - started
        document = json.loads(out.read_text(encoding="utf-8"))
    hits, ignored = [], 0
    for item in document["findings"]:
        if item["kind"] not in SCORED_KINDS:
            ignored += 1
            continue
        hits.append(Hit(_norm(item["path"]), item["line"], item["rule_id"], item.get("cell")))
    version = version_of([*prodguard_command(), "--version"])
    return ToolRun(
        "prodguard",
        " ".join(["prodguard", *command[len(prodguard_command()) : -2]]),
        hits,
        seconds,
        version,
        ignored,
    )


def run_detect_secrets(tree: Path) -> ToolRun:
    command = [peer("detect-secrets"), "scan", "--all-files", "."]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=tree, check=True, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    hits = [
        Hit(_norm(path), item["line_number"], item["type"])
        for path, items in json.loads(done.stdout)["results"].items()
        for item in items
    ]
    return ToolRun(
        "detect-secrets",
        "detect-secrets scan --all-files .",
        hits,
        seconds,
        version_of([peer("detect-secrets"), "--version"]),
    )


def run_credsweeper(tree: Path) -> ToolRun:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "cs.json"
        command = [peer("credsweeper"), "--path", ".", "--save-json", str(out), "--no-stdout", "--jobs", "2"]
        started = time.perf_counter()
        subprocess.run(command, cwd=tree, check=True, capture_output=True)
        seconds = time.perf_counter() - started
        document = json.loads(out.read_text(encoding="utf-8"))
    hits = [
        Hit(_norm(line["path"]), line["line_num"], item["rule"])
        for item in document
        for line in item["line_data_list"]
    ]
    return ToolRun(
        "credsweeper",
        "credsweeper --path . --jobs 2 --save-json OUT",
        hits,
        seconds,
        version_of([peer("credsweeper"), "--version"]),
    )


RUNNERS: dict[str, Callable[[Path], ToolRun]] = {
    "prodguard": run_prodguard,
    "detect-secrets": run_detect_secrets,
    "credsweeper": run_credsweeper,
}


class LabelIndex:
    """Finds the label a reported location belongs to."""

    def __init__(self, items: list[dict[str, Any]]) -> None:
        self.items = items
        self._by_path: dict[str, list[int]] = defaultdict(list)
        self._by_cell: dict[tuple[str, int], int] = {}
        for index, item in enumerate(items):
            self._by_path[item["path"]].append(index)
            if item["cell"] is not None:
                self._by_cell[(item["path"], item["cell"])] = index

    def locate(self, hit: Hit) -> int | None:
        if hit.cell is not None:
            return self._by_cell.get((hit.path, hit.cell))
        for index in self._by_path.get(hit.path, ()):
            item = self.items[index]
            if item["line"] <= hit.line <= item["end_line"]:
                return index
        return None


@dataclass
class Score:
    tool: str
    tp: int = 0
    fn: int = 0
    fp_negative: int = 0
    fp_unlabelled: int = 0
    kind_total: Counter[str] = field(default_factory=Counter)
    kind_hit: Counter[str] = field(default_factory=Counter)
    kind_fp: Counter[str] = field(default_factory=Counter)
    kind_rules: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    misses: list[dict[str, Any]] = field(default_factory=list)
    false_units: list[dict[str, Any]] = field(default_factory=list)

    @property
    def precision(self) -> float:
        flagged = self.tp + self.fp_negative + self.fp_unlabelled
        return self.tp / flagged if flagged else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    def kind_recall(self, kind: str) -> float:
        return self.kind_hit[kind] / self.kind_total[kind] if self.kind_total[kind] else 0.0

    def kind_precision(self, kind: str) -> float | None:
        flagged = self.kind_hit[kind] + self.kind_fp[kind]
        return self.kind_hit[kind] / flagged if flagged else None


def score(run: ToolRun, index: LabelIndex, tree: Path) -> Score:
    result = Score(run.name)
    units: dict[tuple[Any, ...], set[str]] = defaultdict(set)
    for hit in run.hits:
        found = index.locate(hit)
        key: tuple[Any, ...] = (
            ("label", found) if found is not None else ("free", hit.path, hit.cell, hit.line)
        )
        units[key].add(hit.rule)
    rule_kinds: dict[str, Counter[str]] = defaultdict(Counter)
    for key, rules in units.items():
        if key[0] == "label" and index.items[key[1]]["positive"]:
            for rule in rules:
                rule_kinds[rule][index.items[key[1]]["kind"]] += 1
    majority = {rule: kinds.most_common(1)[0][0] for rule, kinds in rule_kinds.items()}
    hit_labels = {key[1] for key in units if key[0] == "label"}
    for number, item in enumerate(index.items):
        if item["positive"]:
            result.kind_total[item["kind"]] += 1
            if number in hit_labels:
                result.tp += 1
                result.kind_hit[item["kind"]] += 1
                result.kind_rules[item["kind"]].update(units[("label", number)])
            else:
                result.fn += 1
                result.misses.append({k: item[k] for k in ("kind", "path", "line", "cell", "cell_line")})
    lines_cache: dict[str, list[str]] = {}
    for key, rules in sorted(units.items(), key=lambda kv: str(kv[0])):
        if key[0] == "label" and index.items[key[1]]["positive"]:
            continue
        attributed = next((majority[r] for r in sorted(rules) if r in majority), "unattributed")
        result.kind_fp[attributed] += 1
        if key[0] == "label":
            item = index.items[key[1]]
            result.fp_negative += 1
            result.kind_rules[item["kind"]].update(rules)
            result.false_units.append(
                {
                    "kind": item["kind"],
                    "path": item["path"],
                    "line": item["line"],
                    "cell": item["cell"],
                    "rules": sorted(rules),
                }
            )
        else:
            _, path, cell, line = key
            result.fp_unlabelled += 1
            text = "" if cell is not None else _line_text(tree, path, line, lines_cache)
            result.false_units.append(
                {
                    "kind": "unlabelled",
                    "path": path,
                    "line": line,
                    "cell": cell,
                    "rules": sorted(rules),
                    "text": text[:100],
                }
            )
    return result


def _line_text(tree: Path, path: str, line: int, cache: dict[str, list[str]]) -> str:
    if path not in cache:
        try:
            cache[path] = (tree / path).read_text(encoding="utf-8", errors="replace").split("\n")
        except OSError:
            cache[path] = []
    lines = cache[path]
    return lines[line - 1].strip() if 0 < line <= len(lines) else ""


# --- report ------------------------------------------------------------------------------------------


def pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def render(labels: dict[str, Any], runs: list[ToolRun], scores: list[Score], command: str) -> str:
    items = labels["items"]
    kinds = sorted({i["kind"] for i in items if i["positive"]}, key=lambda k: (_group(items, k), k))
    negatives = sorted({i["kind"] for i in items if not i["positive"]})
    negative_total = Counter(i["kind"] for i in items if not i["positive"])
    names = [s.tool for s in scores]
    out = [
        "## Detection quality (labelled corpus)",
        "",
        f"- Date: {today()}",
        f"- Machine: {machine()}",
        f"- Command: `{command}`",
        f"- Corpus: `bench/corpus_gen.py --seed {labels['seed']}`: {labels['files']} files, "
        f"{labels['positives']} planted credentials/identifiers, {labels['negatives']} hard negatives.",
        "- Tools (same run): " + "; ".join(f"{r.name} `{r.version}` (`{r.command}`)" for r in runs),
        "- Line level: a unit is a labelled item hit or an unlabelled flagged line; prodguard runs with "
        "`--min-severity info` and its notebook findings are matched by cell index.",
        "",
        "### Overall",
        "",
        table(
            ["tool", "precision", "recall", "TP", "FN", "FP hard-negative", "FP unlabelled", "seconds"],
            [
                [
                    s.tool,
                    pct(s.precision),
                    pct(s.recall),
                    str(s.tp),
                    str(s.fn),
                    str(s.fp_negative),
                    str(s.fp_unlabelled),
                    f"{r.seconds:.2f}",
                ]
                for s, r in zip(scores, runs, strict=True)
            ],
        ),
        "",
        _targets(scores[0], items),
        "",
        "### Recall per positive kind (precision in brackets, attributed by firing rule)",
        "",
        table(
            ["group", "kind", "n", *names],
            [
                [
                    _group(items, k),
                    k,
                    str(scores[0].kind_total[k]),
                    *(f"{pct(s.kind_recall(k))} ({pct(s.kind_precision(k))})" for s in scores),
                ]
                for k in kinds
            ],
        ),
        "",
        "### Hard negatives flagged (lines)",
        "",
        table(
            ["kind", "n", *names],
            [[k, str(negative_total[k]), *(str(_neg_hits(s, k)) for s in scores)] for k in negatives]
            + [["**total**", str(sum(negative_total.values())), *(str(s.fp_negative) for s in scores)]],
        ),
        "",
        _prodguard_cases(scores[0]),
    ]
    return "\n".join(out)


def _group(items: list[dict[str, Any]], kind: str) -> str:
    return str(next(i["group"] for i in items if i["kind"] == kind))


def _neg_hits(score_: Score, kind: str) -> int:
    return sum(1 for u in score_.false_units if u["kind"] == kind)


def _targets(pg: Score, items: list[dict[str, Any]]) -> str:
    openai_kinds = sorted({i["kind"] for i in items if i["group"] == OPENAI_GROUP and i["positive"]})
    openai_ok = all(pg.kind_recall(k) == 1.0 for k in openai_kinds)
    low = [f"{k} {pct(pg.kind_recall(k))}" for k in openai_kinds if pg.kind_recall(k) < 1.0]
    checks = [
        ("precision >= 0.99", pg.precision >= 0.99, pct(pg.precision)),
        ("recall >= 0.99", pg.recall >= 0.99, pct(pg.recall)),
        (
            "100% recall on every OpenAI key form and identifier",
            openai_ok,
            "all 100%" if openai_ok else "; ".join(low),
        ),
        ("zero hard-negative hits", pg.fp_negative == 0, str(pg.fp_negative)),
    ]
    rows = [[name, "met" if ok else "**missed**", value] for name, ok, value in checks]
    return "prodguard against the targets:\n\n" + table(["target", "status", "value"], rows)


def _where(unit: dict[str, Any]) -> str:
    return f"{unit['path']}:{unit['line']}" + (f" (cell {unit['cell']})" if unit["cell"] is not None else "")


def _prodguard_cases(pg: Score, per_kind: int = 8, limit: int = 150) -> str:
    """Misses grouped by kind (a few locations each), then every false unit with its rules."""
    lines = ["### prodguard misses and false positives", ""]
    if not pg.misses and not pg.false_units:
        return "\n".join([*lines, "None."])
    by_kind: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for miss in pg.misses:
        by_kind[miss["kind"]].append(miss)
    for kind, misses in sorted(by_kind.items()):
        shown = ", ".join(_where(m) for m in misses[:per_kind])
        more = f", … {len(misses) - per_kind} more" if len(misses) > per_kind else ""
        lines.append(f"- MISS {kind} ({len(misses)}/{pg.kind_total[kind]}): {shown}{more}")
    for unit in pg.false_units[:limit]:
        text = f" `{unit['text']}`" if unit.get("text") else ""
        lines.append(f"- FALSE {unit['kind']}: {_where(unit)} by {', '.join(unit['rules'])}{text}")
    if len(pg.false_units) > limit:
        lines.append(f"- … {len(pg.false_units) - limit} more false units in bench/out/score.json")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=BENCH / "corpus")
    parser.add_argument(
        "--tools", default=",".join(RUNNERS), help="comma-separated subset of: " + ", ".join(RUNNERS)
    )
    parser.add_argument("--no-results", action="store_true", help="do not rewrite bench/RESULTS.md")
    args = parser.parse_args(argv)
    labels = json.loads((args.corpus / "labels.json").read_text(encoding="utf-8"))
    tree = args.corpus / "tree"
    index = LabelIndex(labels["items"])
    runs = [RUNNERS[name](tree) for name in args.tools.split(",")]
    scores = [score(run, index, tree) for run in runs]
    command = "python bench/score.py" + (f" --tools {args.tools}" if args.tools != ",".join(RUNNERS) else "")
    report = render(labels, runs, scores, command)
    out_dir = BENCH / "out"
    out_dir.mkdir(exist_ok=True)
    detail = {
        s.tool: {
            "precision": s.precision,
            "recall": s.recall,
            "tp": s.tp,
            "fn": s.fn,
            "fp_negative": s.fp_negative,
            "fp_unlabelled": s.fp_unlabelled,
            "kind_rules": {k: dict(v) for k, v in s.kind_rules.items()},
            "misses": s.misses,
            "false_units": s.false_units,
        }
        for s in scores
    }
    (out_dir / "score.json").write_text(json.dumps(detail, indent=1) + "\n", encoding="utf-8")
    print(report)
    if not args.no_results:
        update_section("detection", report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
