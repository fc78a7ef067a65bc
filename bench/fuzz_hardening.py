"""Long fuzz run over everything prodguard reads (issue 12): file contents of every type, trees of odd
names and special files with random ignore files, configs, user rule packs, baselines, and damaged
audit-log directories. Each case must end in a result or a ``ProdguardError`` (exit 0, 1 or 2); any
other exception is a bug, and a case slower than ``--case-seconds`` is reported as a near-hang.

    python bench/fuzz_hardening.py --cases 100000 --seconds 1800 [--seed 12] [--write]

Cases are drawn round-robin from the six kinds with ``random.Random(seed)``; ``--write`` records the
figures in bench/RESULTS.md (section ``fuzz``). The unit tests (tests/test_fuzz.py) run the same kinds
of input with hypothesis, a few dozen cases each.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from benchtools import machine, table, today, update_section

from prodguard.errors import ProdguardError
from prodguard.guard._audit.keys import format_key, generate_key
from prodguard.guard._audit.log import AuditLog
from prodguard.rules.catalogue import Catalogue, load_catalogue, load_pack
from prodguard.scanner.baseline import Baseline
from prodguard.scanner.blob import Blob
from prodguard.scanner.commands import load_settings
from prodguard.scanner.run import build_detector, scan_paths
from prodguard.scanner.settings import ScanSettings

CATALOGUE = load_catalogue()
DETECTOR = build_detector(CATALOGUE)
KEYWORDS = sorted({k for r in CATALOGUE.pattern_rules for k in r.keywords if k.isascii()})
KEYS = format_key(generate_key("k1"))
CHUNKS = [b"\n", b"\r", b"\r\n", b'"', b"'", b"=", b": ", b"# prodguard: allow -- ", b"\x00", b"\xff", b"\xe9",
          b"openai.OpenAI(", b"api_key=", b"client.chat.completions.create(", b"def f():\n  ", b"A" * 1500,
          b"eyJhbGciOiJIUzI1NiJ9." + b"x" * 1200, b"sk-proj-" + b"Ab3" * 400, b'{"cells": [', b'"outputs": 5']


def _bytes(rng: random.Random, count: int) -> bytes:
    parts = []
    for _ in range(count):
        choice = rng.random()
        if choice < 0.3:
            parts.append(rng.choice(KEYWORDS).encode())
        elif choice < 0.6:
            parts.append(rng.choice(CHUNKS))
        else:
            parts.append(rng.randbytes(rng.randrange(0, 30)))
    return b"".join(parts)


def content_case(rng: random.Random, _work: Path) -> None:
    name = rng.choice(["a.py", "b.js", "c.ipynb", ".env", "d.json", "e.yaml"])
    DETECTOR.scan(Blob(name, _bytes(rng, rng.randrange(0, 80))))


def tree_case(rng: random.Random, work: Path) -> None:
    root = work / "tree"
    root.mkdir()
    (root / ".gitignore").write_bytes(
        b"\n".join(rng.choice([b"\\", b"!", b"[z-a]", b"*.py", b"**", b"/", b"[", rng.randbytes(5)]) for _ in range(4))
    )
    for _ in range(rng.randrange(0, 8)):
        name = rng.choice([rng.randbytes(rng.randrange(1, 10)), b"caf\xe9.py", b".gitignore", b"\x1b[2J"])
        name = name.replace(b"/", b"_").replace(b"\0", b"_")
        if name in (b".", b".."):
            continue
        path = os.path.join(os.fsencode(root), name)
        if os.path.lexists(path):
            continue
        kind = rng.choice(["file", "fifo", "zero", "loop", "dangling", "dir"])
        if kind == "file":
            with open(path, "wb") as handle:
                handle.write(_bytes(rng, 10))
        elif kind == "fifo":
            os.mkfifo(path)
        elif kind == "dir":
            os.mkdir(path)
        else:
            os.symlink({"zero": b"/dev/zero", "loop": name, "dangling": b"nowhere"}[kind], path)
    scan_paths([str(root)], ScanSettings(root=root, jobs=1, exclude=("[z-a]", "\\")), CATALOGUE)


def config_case(rng: random.Random, work: Path) -> None:
    pieces = ["[tool.prodguard]\n", "exclude = ", "[", "]", '"x"', "5", "max_file_size = ", '"20MiB"', "packs = ",
              "[rules]\n", "enable = ", "\n", "=", "'''", "min_severity = ", '"high"', "[[x]]\n", "true"]
    path = work / "prodguard.toml"
    path.write_text("".join(rng.choice(pieces) for _ in range(rng.randrange(0, 30))))
    load_catalogue(load_settings(str(path), work).packs)


def pack_case(rng: random.Random, work: Path) -> None:
    pieces = ["acme_", "(", ")", "(?P<secret>", "[a-z]", "\\w", "\\d", "+", "*", "?", "{2,5}", "{4294967296}",
              "|", "a", ".", "$", "(?<![a-z])", "\\1", "{0,100}", "[^x]", "(?:"]
    rule = {
        "id": "ACME001", "name": "acme", "title": "Acme", "kind": "secret", "severity": "high",
        "description": "d", "why": "w", "remediation": "r",
        "keywords": rng.choice([["acme_"], ["acme_"], ["acme_"], [""], ["a"], ["acme_", "x" * 3]]),
        "pattern": (
            "acme_(?P<secret>" if rng.random() < 0.6 else ""
        ) + "".join(rng.choice(pieces) for _ in range(rng.randrange(1, 14))) + (")" if rng.random() < 0.6 else ""),
        "redact_prefix": rng.choice([0, 0, 3, 5, -1, 99]),
    }
    path = work / "pack.toml"
    body = "\n".join(f"{k} = {json.dumps(v)}" for k, v in rule.items())
    path.write_text(f'[pack]\nname = "mine"\n[[rules]]\n{body}\n')
    rules = load_pack(path)
    build_detector(Catalogue(rules)).scan(Blob("x.txt", (b"acme_" + b"a" * 3000 + b"!") * 20))


def baseline_case(rng: random.Random, work: Path) -> None:
    path = work / "baseline.json"
    depth = rng.randrange(0, 3000)
    shapes = [
        "[" * depth + "]" * depth,
        json.dumps({"version": 1, "salt": "s", "entries": [{"rule_id": 1}] * rng.randrange(3)}),
        json.dumps({"version": rng.choice([1, 2, "1"]), "salt": rng.choice(["s", 5]), "entries": rng.choice([[], {}, 5])}),
        rng.randbytes(40).decode("latin-1"),
    ]
    path.write_text(rng.choice(shapes), errors="surrogateescape")
    Baseline.load(path)


_AUDIT_TEMPLATE: Path | None = None


def audit_case(rng: random.Random, work: Path) -> None:
    global _AUDIT_TEMPLATE  # built once per run (a module-level cache of a read-only template)
    if _AUDIT_TEMPLATE is None:
        _AUDIT_TEMPLATE = Path(tempfile.mkdtemp(prefix="pgfuzz-audit"))
        with AuditLog(_AUDIT_TEMPLATE, KEYS, segment_max_bytes=600) as log:
            for n in range(12):
                log.append({"n": n})
    directory = work / "audit"
    shutil.copytree(_AUDIT_TEMPLATE, directory)
    for _ in range(rng.randrange(1, 4)):
        segments = sorted(p for p in directory.glob("segment-*") if p.is_file() and not p.is_symlink())
        target = rng.choice(segments) if segments else None
        action = rng.choice(["truncate", "append", "flip", "link", "fifo", "head", "remove"])
        if target is not None:
            target.chmod(0o600)
        if action == "truncate" and target:
            os.truncate(target, rng.randrange(target.stat().st_size + 1))
        elif action == "append" and target:
            with open(target, "ab") as handle:
                handle.write(rng.randbytes(rng.randrange(300)))
        elif action == "flip" and target and target.stat().st_size:
            data = bytearray(target.read_bytes())
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
            target.write_bytes(bytes(data))
        elif action == "link":
            extra = directory / f"segment-{rng.randrange(20, 90):08d}.pgal"
            if not os.path.lexists(extra):
                os.symlink(rng.choice(["/dev/zero", extra.name, "nowhere"]), extra)
        elif action == "fifo":
            extra = directory / f"segment-{rng.randrange(90, 99):08d}.pgal"
            if not os.path.lexists(extra):
                os.mkfifo(extra)
        elif action == "head":
            (directory / ".head").write_bytes(rng.randbytes(rng.randrange(300)))
        elif action == "remove" and target:
            target.unlink()
    try:
        AuditLog(directory, KEYS).verify()
    finally:
        with AuditLog(directory, KEYS) as log:
            log.append({"n": "after"})


KINDS: dict[str, Callable[[random.Random, Path], None]] = {
    "content": content_case,
    "tree": tree_case,
    "config": config_case,
    "pack": pack_case,
    "baseline": baseline_case,
    "audit": audit_case,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=1800.0, help="stop early after this long")
    parser.add_argument("--case-seconds", type=float, default=5.0)
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--write", action="store_true", help="record the figures in bench/RESULTS.md")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    outcomes: Counter[tuple[str, str]] = Counter()
    slowest: dict[str, float] = {kind: 0.0 for kind in KINDS}
    failures: list[str] = []
    started = time.perf_counter()
    done = 0
    names = list(KINDS)
    scratch = Path(tempfile.mkdtemp(prefix="pgfuzz"))
    try:
        while done < args.cases and time.perf_counter() - started < args.seconds:
            kind = names[done % len(names)]
            work = scratch / str(done)
            work.mkdir()
            case_started = time.perf_counter()
            try:
                KINDS[kind](random.Random(rng.getrandbits(64)), work)
                outcomes[kind, "ok"] += 1
            except ProdguardError:
                outcomes[kind, "error (exit 2)"] += 1
            except Exception:  # the point of the run: anything else is a bug to report
                outcomes[kind, "BUG"] += 1
                failures.append(f"case {done} ({kind}): {traceback.format_exc(limit=3)}")
            elapsed = time.perf_counter() - case_started
            slowest[kind] = max(slowest[kind], elapsed)
            if elapsed > args.case_seconds:
                failures.append(f"case {done} ({kind}): {elapsed:.1f}s (near-hang)")
            shutil.rmtree(work, ignore_errors=True)
            done += 1
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        if _AUDIT_TEMPLATE is not None:
            shutil.rmtree(_AUDIT_TEMPLATE, ignore_errors=True)
    seconds = time.perf_counter() - started
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows = [
        [kind, str(outcomes[kind, "ok"]), str(outcomes[kind, "error (exit 2)"]), str(outcomes[kind, "BUG"]),
         f"{slowest[kind]:.2f}"]
        for kind in KINDS
    ]
    summary = table(["kind", "ok (exit 0/1)", "error (exit 2)", "other exception (bug)", "slowest case s"], rows)
    print(summary)
    print(f"{done} cases in {seconds:.0f}s; peak RSS {peak_mib:.0f} MiB; {len(failures)} failures")
    for failure in failures[:20]:
        print(failure, file=sys.stderr)
    if args.write:
        body = "\n".join(
            [
                "## Hardening fuzz run (issue 12)",
                "",
                f"- Date: {today()}",
                f"- Machine: {machine()} (shared with other work during the run)",
                f"- Command: `python bench/fuzz_hardening.py --cases {args.cases} --seconds {args.seconds:.0f} "
                f"--seed {args.seed} --write`",
                f"- {done} cases in {seconds:.0f} s; peak RSS {peak_mib:.0f} MiB; {len(failures)} failures "
                f"(other exceptions or cases over {args.case_seconds:.0f} s)",
                "",
                summary,
            ]
        )
        update_section("fuzz", body)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
