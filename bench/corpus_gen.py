"""Generate the labelled detection corpus: realistic project files with planted credentials and hard negatives.

    python bench/corpus_gen.py [--seed 20240611] [--out bench/corpus]

Writes ``OUT/tree/`` (the files to scan) and ``OUT/labels.json``: one entry per planted item with its path
(relative to ``tree/``), 1-based line (and end_line for multi-line items), kind, group and polarity; for
notebooks the line is in the raw .ipynb JSON and ``cell`` / ``cell_line`` locate it as prodguard reports
it (cell index, line within the cell's text). Each labelled line (and each notebook cell) holds exactly one
planted item, so a finding on it can be attributed without ambiguity.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from random import Random
from typing import Any

from corpus_formats import FORMATS, Format, py_filler, py_render, word
from corpus_kinds import KINDS, NEGATIVES, POSITIVES, Plant

DEFAULT_SEED = 20240611
# Files per type; their paths are spread over several made-up projects.
FILE_COUNTS = {
    "py": 40,
    "ipynb": 20,
    "js": 14,
    "ts": 14,
    "env": 24,
    "yaml": 22,
    "gha": 12,
    "json": 16,
    "toml": 10,
    "ini": 10,
    "tf": 12,
    "docker": 12,
    "sh": 14,
    "md": 20,
}
# How likely a value lands in each type (among the types its kind allows).
TYPE_WEIGHTS = {"py": 4, "ipynb": 3, "env": 3, "yaml": 2, "js": 2, "ts": 2, "md": 2}
PROJECTS = (
    "billing-api",
    "chat-frontend",
    "rag-indexer",
    "support-bot",
    "ml-platform",
    "data-pipeline",
    "infra-live",
    "eval-harness",
)
PATHS = {
    "py": ("app/{w}.py", "src/{p}/{w}.py", "scripts/{w}.py", "tests/test_{w}.py"),
    "ipynb": ("notebooks/{w}.ipynb", "research/{w}-analysis.ipynb"),
    "js": ("src/{w}.js", "lib/{w}.js"),
    "ts": ("src/{w}.ts", "web/src/{w}Service.ts"),
    "env": (".env", ".env.production", ".env.staging", ".env.local", "deploy/{w}.env", ".env.example"),
    "yaml": ("config/{w}.yaml", "k8s/{w}.yml", "docker-compose.yml", "helm/values-{w}.yaml"),
    "gha": (".github/workflows/{w}.yml",),
    "json": ("config/{w}.json", ".vscode/settings.json", "package-lock.json", "secrets/{w}.json"),
    "toml": ("pyproject.toml", "config/{w}.toml"),
    "ini": ("setup.cfg", "config/{w}.ini", "tox.ini"),
    "tf": ("infra/{w}.tf", "terraform/{w}.tf"),
    "docker": ("Dockerfile", "docker/{w}.Dockerfile"),
    "sh": ("scripts/{w}.sh", "bin/{w}.sh"),
    "md": ("README.md", "docs/{w}.md"),
}


@dataclass(frozen=True)
class Label:
    path: str
    line: int
    end_line: int
    kind: str
    group: str
    positive: bool
    cell: int | None = None
    cell_line: int | None = None


@dataclass
class Draft:
    path: str
    type: str
    plants: list[Plant] = field(default_factory=list)


def make_plants(rng: Random) -> list[Plant]:
    return [spec.make(rng) for spec in (*POSITIVES, *NEGATIVES) for _ in range(spec.count)]


def make_drafts(rng: Random) -> dict[str, list[Draft]]:
    drafts: dict[str, list[Draft]] = {}
    used: set[str] = set()
    for ftype, count in FILE_COUNTS.items():
        drafts[ftype] = []
        while len(drafts[ftype]) < count:
            template = rng.choice(PATHS[ftype])
            rel = template.format(
                w=f"{word(rng)}_{rng.choice(('sync', 'tools', 'core', 'jobs'))}", p=word(rng)
            )
            path = f"{rng.choice(PROJECTS)}/{rel}"
            if path not in used:
                used.add(path)
                drafts[ftype].append(Draft(path, ftype))
    return drafts


def assign(plants: list[Plant], drafts: dict[str, list[Draft]], rng: Random) -> None:
    for plant in plants:
        allowed = KINDS[plant.kind].types or frozenset(drafts)
        if plant.style == "block":
            allowed = allowed - {"gha"}
        types = sorted(allowed)
        ftype = rng.choices(types, weights=[TYPE_WEIGHTS.get(t, 1) for t in types])[0]
        rng.choice(drafts[ftype]).plants.append(plant)


def write_text(draft: Draft, fmt: Format, rng: Random) -> tuple[str, list[Label]]:
    body: list[str] = []
    spans: list[tuple[int, int, Plant]] = []
    plants = list(draft.plants)
    rng.shuffle(plants)
    for plant in plants:
        for _ in range(rng.randrange(1, 6)):
            body.extend(fmt.filler(rng))
        rendered = fmt.render(plant, rng)
        spans.append((len(body) + rendered.first, len(body) + rendered.last, plant))
        body.extend(rendered.lines)
    for _ in range(rng.randrange(2, 8)):
        body.extend(fmt.filler(rng))
    if fmt.json_commas:
        # Every body line is one member of the object: JSON renders and filler never emit blank lines.
        assert all(line.strip() for line in body), "blank line inside a JSON object"
        body = [line + ("," if i < len(body) - 1 else "") for i, line in enumerate(body)]
    head = len(fmt.head)
    lines = [*fmt.head, *body, *fmt.tail]
    labels = [_label(draft.path, head + first + 1, head + last + 1, plant) for first, last, plant in spans]
    return "\n".join(lines) + "\n", labels


def _label(
    path: str, line: int, end_line: int, plant: Plant, cell: int | None = None, cell_line: int | None = None
) -> Label:
    spec = KINDS[plant.kind]
    return Label(path, line, end_line, plant.kind, spec.group, plant.positive, cell, cell_line)


# --- notebooks ---------------------------------------------------------------------------------------


def _source(lines: list[str]) -> list[str]:
    return [line + "\n" for line in lines[:-1]] + lines[-1:]


def _code_cell(lines: list[str], outputs: list[dict[str, Any]], count: int) -> dict[str, Any]:
    return {
        "cell_type": "code",
        "execution_count": count,
        "metadata": {},
        "outputs": outputs,
        "source": _source(lines),
    }


def _filler_cell(rng: Random, count: int) -> dict[str, Any]:
    if rng.random() < 0.2:
        return {"cell_type": "markdown", "metadata": {}, "source": [f"## {word(rng).title()} {word(rng)}"]}
    lines: list[str] = []
    while len(lines) < 3:
        lines.extend(py_filler(rng))
    outputs = []
    if rng.random() < 0.4:
        text = [f"epoch {i}: loss={rng.random():.4f}\n" for i in range(rng.randrange(1, 5))]
        outputs.append({"name": "stdout", "output_type": "stream", "text": text})
    return _code_cell(lines, outputs, count)


@dataclass(frozen=True)
class _CellMark:
    cell: int
    elements: tuple[str, ...]  # the JSON string elements holding the item, first to last
    cell_line: int | None
    plant: Plant


def _item_cell(plant: Plant, rng: Random, count: int) -> tuple[dict[str, Any], tuple[str, ...], int | None]:
    if plant.kind == "notebook-image-base64":
        outputs = [
            {
                "data": {"image/png": plant.value, "text/plain": ["<Figure size 640x480 with 1 Axes>"]},
                "metadata": {},
                "output_type": "display_data",
            }
        ]
        return (
            _code_cell(["fig, ax = plt.subplots()", "ax.plot(xs, ys)", "plt.show()"], outputs, count),
            (plant.value,),
            None,
        )
    if plant.style == "literal" and not plant.endpoint and rng.random() < 0.3:
        name = rng.choice(plant.names).upper()
        text = f"{name}={plant.value}\n"
        outputs = [{"name": "stdout", "output_type": "stream", "text": [text]}]
        return _code_cell([f"!grep {name} ../.env"], outputs, count), (text,), 2
    rendered = py_render(plant, rng)
    source = _source(rendered.lines)
    return (
        _code_cell(rendered.lines, [], count),
        tuple(source[rendered.first : rendered.last + 1]),
        rendered.first + 1,
    )


def write_notebook(draft: Draft, rng: Random) -> tuple[str, list[Label]]:
    cells: list[dict[str, Any]] = [
        {"cell_type": "markdown", "metadata": {}, "source": ["# Exploration\n", "Quick look at the data."]},
        _code_cell(["import os", "import matplotlib.pyplot as plt", "from openai import OpenAI"], [], 1),
    ]
    marks: list[_CellMark] = []
    plants = list(draft.plants)
    rng.shuffle(plants)
    for plant in plants:
        for _ in range(rng.randrange(1, 4)):
            cells.append(_filler_cell(rng, len(cells)))
        cell, elements, cell_line = _item_cell(plant, rng, len(cells))
        marks.append(_CellMark(len(cells), elements, cell_line, plant))
        cells.append(cell)
    cells.append(_filler_cell(rng, len(cells)))
    document = {
        "cells": cells,
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python", "version": "3.11.7"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    text = json.dumps(document, indent=1, ensure_ascii=False) + "\n"
    raw = text.split("\n")
    labels = []
    cursor = 0
    for mark in marks:
        first = _find(raw, json.dumps(mark.elements[0], ensure_ascii=False), cursor)
        last = _find(raw, json.dumps(mark.elements[-1], ensure_ascii=False), first)
        cursor = last + 1
        labels.append(_label(draft.path, first + 1, last + 1, mark.plant, mark.cell, mark.cell_line))
    return text, labels


def _find(raw: list[str], needle: str, start: int) -> int:
    for index in range(start, len(raw)):
        if needle in raw[index]:
            return index
    raise AssertionError(f"planted element not found in notebook JSON: {needle[:40]}")


# --- main --------------------------------------------------------------------------------------------


def generate(out: Path, seed: int) -> dict[str, Any]:
    rng = Random(seed)
    drafts = make_drafts(rng)
    assign(make_plants(rng), drafts, rng)
    tree = out / "tree"
    if tree.exists():
        shutil.rmtree(tree)
    labels: list[Label] = []
    for ftype, group in drafts.items():
        for draft in group:
            if ftype == "ipynb":
                text, found = write_notebook(draft, rng)
            else:
                text, found = write_text(draft, FORMATS[ftype], rng)
            target = tree / draft.path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
            labels.extend(found)
    labels.sort(key=lambda item: (item.path, item.line))
    document = {
        "version": 1,
        "seed": seed,
        "files": sum(len(g) for g in drafts.values()),
        "positives": sum(1 for item in labels if item.positive),
        "negatives": sum(1 for item in labels if not item.positive),
        "items": [asdict(item) for item in labels],
    }
    (out / "labels.json").write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    return document


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "corpus")
    args = parser.parse_args(argv)
    document = generate(args.out, args.seed)
    print(
        f"{document['files']} files, {document['positives']} positives, {document['negatives']} hard negatives "
        f"-> {args.out}/tree, labels in {args.out}/labels.json"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
