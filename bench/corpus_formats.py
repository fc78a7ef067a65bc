"""How each file type of the corpus writes a planted value, and the ordinary code around it.

A format turns a ``Plant`` into lines (``Rendered``: the lines and which of them hold the planted value)
and makes filler: complete, boring blocks of that language, so planted lines sit among real-looking code.
Notebooks are assembled from Python renders by corpus_gen, since their lines live inside JSON.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from random import Random

from corpus_kinds import Plant

WORDS = (
    "account",
    "batch",
    "billing",
    "cache",
    "client",
    "config",
    "customer",
    "embedding",
    "event",
    "export",
    "invoice",
    "job",
    "ledger",
    "metric",
    "model",
    "order",
    "payload",
    "prompt",
    "queue",
    "report",
    "request",
    "result",
    "retry",
    "session",
    "shard",
    "summary",
    "ticket",
    "upload",
    "usage",
    "worker",
)
VERBS = ("build", "fetch", "load", "parse", "render", "send", "sync", "update", "validate", "write")
MODULES = (
    "json",
    "logging",
    "pathlib",
    "typing",
    "dataclasses",
    "itertools",
    "functools",
    "collections",
    "time",
)
SENTENCES = (
    "Keep the batch small so the worker stays responsive",
    "Retries are handled by the caller",
    "This mirrors the upstream schema",
    "Values are cached for five minutes",
    "The report is rebuilt nightly",
    "Only the first page is fetched here",
    "Timestamps are stored in UTC",
)


@dataclass(frozen=True)
class Rendered:
    """Lines to write; lines[first..last] (inclusive) hold the planted value."""

    lines: list[str]
    first: int
    last: int


def single(lines: list[str], index: int) -> Rendered:
    return Rendered(lines, index, index)


def word(rng: Random) -> str:
    return rng.choice(WORDS)


def ident(rng: Random) -> str:
    return f"{rng.choice(VERBS)}_{word(rng)}"


def camel(name: str) -> str:
    head, *rest = name.lower().split("_")
    return head + "".join(p.title() for p in rest)


def py_env_ref(var: str, rng: Random) -> str:
    return rng.choice([f'os.environ["{var}"]', f'os.getenv("{var}")', f'os.environ.get("{var}", "")'])


# --- Python ------------------------------------------------------------------------------------------


def py_render(plant: Plant, rng: Random) -> Rendered:
    name = rng.choice(plant.names)
    var = name if name.isupper() else name.lower()
    if plant.style == "block":
        lines = list(plant.lines)
        return Rendered([f'{var.upper()} = """{lines[0]}', *lines[1:], '"""'], 0, len(lines) - 1)
    if plant.style == "envref":
        expr = py_env_ref(plant.value, rng)
        if rng.random() < 0.4:
            return single([f"client = OpenAI(api_key={expr})"], 0)
        return single([f"{var.lower()} = {expr}"], 0)
    if plant.style == "expr":
        return single([f"{var.lower()} = {plant.value}"], 0)
    value = plant.value
    if plant.endpoint:
        if rng.random() < 0.5:
            return single(
                [
                    f"client = {plant.client}(",
                    f'    azure_endpoint="{plant.endpoint}",',
                    f'    api_key="{value}",',
                    '    api_version="2024-10-21",',
                    ")",
                ],
                2,
            )
        return single([f'AZURE_OPENAI_ENDPOINT = "{plant.endpoint}"', f'{var.upper()} = "{value}"'], 1)
    roll = rng.random()
    if plant.client and roll < 0.35:
        target = "co" if "." in plant.client else "client"
        return single([f'{target} = {plant.client}({plant.kwarg}="{value}")'], 0)
    if roll < 0.5:
        return single([f'os.environ["{name.upper()}"] = "{value}"'], 0)
    if roll < 0.65:
        return single(["SETTINGS = {", f'    "{name.lower()}": "{value}",', '    "timeout": 30,', "}"], 1)
    return single([f'{var} = "{value}"'], 0)


def py_filler(rng: Random) -> list[str]:
    roll = rng.random()
    a, b = word(rng), rng.choice([w for w in WORDS if w != "a"])
    if roll < 0.3:
        return [
            f"def {ident(rng)}({a}, {b}_count={rng.randrange(2, 50)}):",
            f'    """{rng.choice(SENTENCES)}."""',
            f"    total = len({a}) * {b}_count + {rng.randrange(100)}",
            f'    logger.debug("{a} total=%s", total)',
            "    return total",
            "",
        ]
    if roll < 0.45:
        cls = word(rng).title() + rng.choice(["Store", "Client", "View", "Task"])
        return [
            f"class {cls}:",
            f'    """{rng.choice(SENTENCES)}."""',
            "",
            f"    def __init__(self, {a}):",
            f"        self.{a} = {a}",
            "",
            f"    def {ident(rng)}(self):",
            f"        return [item for item in self.{a} if item]",
            "",
        ]
    if roll < 0.6:
        return [f"import {rng.choice(MODULES)}"]
    if roll < 0.75:
        return [f"# {rng.choice(SENTENCES)}."]
    if roll < 0.9:
        return [f"{a.upper()}_{b.upper()}_LIMIT = {rng.randrange(1, 5000)}"]
    return [""]


PY_HEAD = [
    '"""Service module."""',
    "import logging",
    "import os",
    "",
    "logger = logging.getLogger(__name__)",
    "",
]


# --- JavaScript / TypeScript -------------------------------------------------------------------------


def js_render(plant: Plant, rng: Random, typed: bool = False) -> Rendered:
    name = rng.choice(plant.names)
    annot = ": string" if typed else ""
    const = name.upper() if name.isupper() else camel(name)
    if plant.style == "envref":
        ref = rng.choice([f"process.env.{plant.value}", f'process.env["{plant.value}"]'])
        return single([f"const {const}{annot} = {ref};"], 0)
    value = plant.value
    if plant.endpoint:
        return single([f'const endpoint = "{plant.endpoint}";', f'const {const}{annot} = "{value}";'], 1)
    roll = rng.random()
    if plant.client and "." not in plant.client and roll < 0.35:
        return single(
            [f"const client = new {plant.client}({{", f'  {camel(plant.kwarg)}: "{value}",', "});"], 1
        )
    if roll < 0.55:
        return single(["export const config = {", f"  {camel(name)}: '{value}',", "  retries: 3,", "};"], 1)
    return single([f'const {const}{annot} = "{value}";'], 0)


def js_filler(rng: Random) -> list[str]:
    roll = rng.random()
    a = word(rng)
    if roll < 0.35:
        return [
            f"export async function {camel(ident(rng))}({a}) {{",
            f"  const response = await fetch(`/api/{a}s/${{{a}.id}}`);",
            "  if (!response.ok) {",
            f"    throw new Error(`{a} request failed: ${{response.status}}`);",
            "  }",
            "  return response.json();",
            "}",
            "",
        ]
    if roll < 0.55:
        return [f"import {{ {camel(ident(rng))} }} from './{a}';"]
    if roll < 0.75:
        return [f"// {rng.choice(SENTENCES)}."]
    if roll < 0.9:
        return [f"const {a.upper()}_PAGE_SIZE = {rng.randrange(10, 500)};"]
    return [""]


# --- key = value families: .env, Dockerfile, INI, TOML -----------------------------------------------


def env_render(plant: Plant, rng: Random) -> Rendered:
    name = rng.choice(plant.names).upper().replace("/", "_")
    if plant.style == "block":
        return single([f'{name}="' + "\\n".join(plant.lines) + '\\n"'], 0)
    if plant.style == "envref":
        return single([f"{name}=${{{plant.value}}}"], 0)
    quote = rng.choice(["", '"'])
    line = f"{rng.choice(['', 'export '])}{name}={quote}{plant.value}{quote}"
    if plant.endpoint:
        return single([f"AZURE_OPENAI_ENDPOINT={plant.endpoint}", line], 1)
    return single([line], 0)


def env_filler(rng: Random) -> list[str]:
    roll = rng.random()
    if roll < 0.4:
        return [
            f"{word(rng).upper()}_{rng.choice(['TIMEOUT', 'WORKERS', 'PORT', 'BATCH_SIZE'])}={rng.randrange(1, 9000)}"
        ]
    if roll < 0.6:
        return [f"LOG_LEVEL={rng.choice(['info', 'debug', 'warning'])}"]
    if roll < 0.8:
        return [f"# {rng.choice(SENTENCES)}"]
    return [""]


def docker_render(plant: Plant, rng: Random) -> Rendered:
    name = rng.choice(plant.names).upper()
    verb = rng.choice(["ENV", "ARG", "ENV"])
    if plant.style == "envref":
        return single([f"{verb} {name}=${{{plant.value}}}"], 0)
    line = f"{verb} {name}={plant.value}"
    if plant.endpoint:
        return single([f"ENV AZURE_OPENAI_ENDPOINT={plant.endpoint}", line], 1)
    return single([line], 0)


def docker_filler(rng: Random) -> list[str]:
    return rng.choice(
        [
            [f"RUN pip install --no-cache-dir {word(rng)}-sdk=={rng.randrange(1, 9)}.{rng.randrange(20)}.0"],
            ["COPY requirements.txt .", "RUN pip install --no-cache-dir -r requirements.txt"],
            [f"COPY {word(rng)}/ /app/{word(rng)}/"],
            [f"# {rng.choice(SENTENCES)}"],
            [f"EXPOSE {rng.randrange(3000, 9000)}"],
            [
                "RUN apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*"
            ],
        ]
    )


def ini_render(plant: Plant, rng: Random) -> Rendered:
    name = rng.choice(plant.names).lower()
    if plant.style == "envref":
        return single([f"{name} = ${{{plant.value}}}"], 0)
    line = f"{name} = {plant.value}"
    if plant.endpoint:
        return single([f"azure_endpoint = {plant.endpoint}", line], 1)
    return single([line], 0)


def ini_filler(rng: Random) -> list[str]:
    return rng.choice(
        [
            [f"{word(rng)}_timeout = {rng.randrange(1, 120)}"],
            [f"{word(rng)}_enabled = {rng.choice(['true', 'false'])}"],
            [f"; {rng.choice(SENTENCES)}"],
            [""],
            [f"log_file = /var/log/{word(rng)}.log"],
        ]
    )


def toml_render(plant: Plant, rng: Random) -> Rendered:
    name = rng.choice(plant.names).lower()
    if plant.style == "envref":
        return single([f'{name} = "${{{plant.value}}}"'], 0)
    line = f'{name} = "{plant.value}"'
    if plant.endpoint:
        return single([f'azure_endpoint = "{plant.endpoint}"', line], 1)
    return single([line], 0)


def toml_filler(rng: Random) -> list[str]:
    return rng.choice(
        [
            [f"{word(rng)}_limit = {rng.randrange(1, 1000)}"],
            [f'{word(rng)}_name = "{word(rng)}-{word(rng)}"'],
            [f"# {rng.choice(SENTENCES)}."],
            [f"{word(rng)}_enabled = {rng.choice(['true', 'false'])}"],
        ]
    )


# --- YAML and GitHub Actions -------------------------------------------------------------------------


def yaml_render(plant: Plant, rng: Random, indent: str = "") -> Rendered:
    name = rng.choice(plant.names)
    if plant.style == "block":
        lines = [f"{indent}{name.lower()}: |", *(f"{indent}  {line}" for line in plant.lines)]
        return Rendered(lines, 1, len(lines) - 1)
    if plant.style == "envref":
        return single([f"{indent}{name}: ${{{plant.value}}}"], 0)
    quote = rng.choice(["", '"'])
    line = f"{indent}{name}: {quote}{plant.value}{quote}"
    if plant.endpoint:
        return single([f"{indent}azure_endpoint: {plant.endpoint}", line], 1)
    return single([line], 0)


def yaml_filler(rng: Random, indent: str = "") -> list[str]:
    return rng.choice(
        [
            [f"{indent}{word(rng)}_replicas: {rng.randrange(1, 12)}"],
            [
                f"{indent}{word(rng)}_image: registry.internal/{word(rng)}:{rng.randrange(1, 40)}.{rng.randrange(10)}"
            ],
            [f"{indent}# {rng.choice(SENTENCES)}"],
            [f"{indent}{word(rng)}_enabled: {rng.choice(['true', 'false'])}"],
        ]
    )


def gha_render(plant: Plant, rng: Random) -> Rendered:
    name = rng.choice(plant.names).upper()
    if plant.style == "envref":
        return single([f"      {name}: ${{{{ secrets.{plant.value} }}}}"], 0)
    line = f"      {name}: {plant.value}"
    if plant.endpoint:
        return single([f"      AZURE_OPENAI_ENDPOINT: {plant.endpoint}", line], 1)
    return single([line], 0)


def gha_filler(rng: Random) -> list[str]:
    return rng.choice(
        [
            [f'      {word(rng).upper()}_SHARDS: "{rng.randrange(1, 9)}"'],
            ['      PYTHONUNBUFFERED: "1"'],
            [f"      # {rng.choice(SENTENCES)}"],
        ]
    )


GHA_HEAD = [
    "name: ci",
    "on:",
    "  push:",
    "    branches: [main]",
    "  pull_request:",
    "jobs:",
    "  test:",
    "    runs-on: ubuntu-latest",
    "    env:",
]
GHA_TAIL = [
    "    steps:",
    "      - uses: actions/checkout@v4",
    "      - uses: actions/setup-python@v5",
    "        with:",
    '          python-version: "3.12"',
    "      - run: pip install -e .[test]",
    "      - run: pytest -q",
]


# --- JSON --------------------------------------------------------------------------------------------


def json_render(plant: Plant, rng: Random) -> Rendered:
    name = rng.choice(plant.names)
    if plant.style == "block":
        return single([f'  "{name.lower()}": "' + "\\n".join(plant.lines) + '\\n"'], 0)
    if plant.style == "envref":
        return single([f'  "{name}": "${{{plant.value}}}"'], 0)
    line = f'  "{name}": "{plant.value}"'
    if plant.endpoint:
        return single([f'  "azureEndpoint": "{plant.endpoint}"', line], 1)
    return single([line], 0)


def json_filler(rng: Random) -> list[str]:
    return rng.choice(
        [
            [f'  "{word(rng)}Timeout": {rng.randrange(1, 600)}'],
            [f'  "{word(rng)}Name": "{word(rng)}-{word(rng)}"'],
            [f'  "{word(rng)}Enabled": {rng.choice(["true", "false"])}'],
            [f'  "version": "{rng.randrange(5)}.{rng.randrange(30)}.{rng.randrange(10)}"'],
        ]
    )


# --- Terraform, shell, Markdown ----------------------------------------------------------------------


def tf_render(plant: Plant, rng: Random) -> Rendered:
    name = rng.choice(plant.names).lower().replace("/", "_")
    if plant.style == "block":
        lines = [f'variable "{name}" {{', "  default = <<EOT", *plant.lines, "EOT", "}"]
        return Rendered(lines, 2, 1 + len(plant.lines))
    if plant.style == "envref":
        return single(["locals {", f"  {name} = var.{plant.value.lower()}", "}"], 1)
    if plant.endpoint:
        return single(
            [
                "locals {",
                f'  azure_openai_endpoint = "{plant.endpoint}"',
                f'  {name}  = "{plant.value}"',
                "}",
            ],
            2,
        )
    if rng.random() < 0.5:
        return single([f'variable "{name}" {{', "  type    = string", f'  default = "{plant.value}"', "}"], 2)
    return single(["locals {", f'  {name} = "{plant.value}"', "}"], 1)


def tf_filler(rng: Random) -> list[str]:
    w = word(rng)
    return rng.choice(
        [
            [f'resource "aws_s3_bucket" "{w}" {{', f'  bucket = "acme-{w}-{rng.randrange(100)}"', "}", ""],
            [f'output "{w}_arn" {{', f"  value = aws_s3_bucket.{w}.arn", "}", ""],
            [f"# {rng.choice(SENTENCES)}."],
        ]
    )


def sh_render(plant: Plant, rng: Random) -> Rendered:
    name = rng.choice(plant.names).upper()
    if plant.style == "block":
        lines = ["cat > /tmp/deploy.key <<'EOF'", *plant.lines, "EOF"]
        return Rendered(lines, 1, len(plant.lines))
    if plant.style == "envref":
        return single([f'export {name}="${{{plant.value}}}"'], 0)
    if plant.endpoint:
        return single(
            [f'export AZURE_OPENAI_ENDPOINT="{plant.endpoint}"', f'export {name}="{plant.value}"'], 1
        )
    if plant.bearer and rng.random() < 0.4:
        return single(
            [
                f"curl -sS https://api.{rng.choice(['acme', 'vendor'])}.io/v1/models \\",
                f'  -H "Authorization: Bearer {plant.value}"',
            ],
            1,
        )
    return single([f"export {name}='{plant.value}'" if rng.random() < 0.5 else f'{name}="{plant.value}"'], 0)


def sh_filler(rng: Random) -> list[str]:
    return rng.choice(
        [
            [f'echo "{rng.choice(SENTENCES)}"'],
            [f"mkdir -p build/{word(rng)}"],
            [f'if [ -f "{word(rng)}.lock" ]; then', f'  rm -f "{word(rng)}.lock"', "fi"],
            [f"# {rng.choice(SENTENCES)}."],
            [f"python -m {word(rng)}_tool --workers {rng.randrange(1, 9)}"],
        ]
    )


def md_render(plant: Plant, rng: Random) -> Rendered:
    name = rng.choice(plant.names)
    if plant.style == "block":
        lines = ["```", *plant.lines, "```"]
        return Rendered(lines, 1, len(plant.lines))
    if plant.kind == "data-uri-image":
        return single([f"![{name}]({plant.value})"], 0)
    if plant.style == "envref":
        return single(["```python", f"api_key = {py_env_ref(plant.value, rng)}", "```"], 1)
    if plant.endpoint:
        return single(
            [
                "```bash",
                f"export AZURE_OPENAI_ENDPOINT={plant.endpoint}",
                f"export {name.upper()}={plant.value}",
                "```",
            ],
            2,
        )
    if rng.random() < 0.4:
        return single([f"Set `{name.upper()}={plant.value}` before starting the service."], 0)
    return single(["```bash", f"export {name.upper()}={plant.value}", "```"], 1)


def md_filler(rng: Random) -> list[str]:
    return rng.choice(
        [
            [f"## {word(rng).title()} {word(rng)}", ""],
            [f"{rng.choice(SENTENCES)}. See the {word(rng)} guide for details.", ""],
            [f"- {rng.choice(SENTENCES)}"],
            ["```bash", f"make {word(rng)}", "```", ""],
        ]
    )


def js_data_uri(plant: Plant, rng: Random) -> Rendered:
    return single([f'const {camel(rng.choice(plant.names))}Src = "{plant.value}";'], 0)


@dataclass(frozen=True)
class Format:
    """A text file type: lines written before and after, a renderer and a filler generator."""

    name: str
    render: Callable[[Plant, Random], Rendered]
    filler: Callable[[Random], list[str]]
    head: tuple[str, ...] = ()
    tail: tuple[str, ...] = ()
    json_commas: bool = False  # join body lines with commas (JSON objects)


def _js_render(plant: Plant, rng: Random) -> Rendered:
    return js_data_uri(plant, rng) if plant.kind == "data-uri-image" else js_render(plant, rng)


def _ts_render(plant: Plant, rng: Random) -> Rendered:
    return js_data_uri(plant, rng) if plant.kind == "data-uri-image" else js_render(plant, rng, typed=True)


FORMATS: dict[str, Format] = {
    "py": Format("py", py_render, py_filler, tuple(PY_HEAD)),
    "js": Format("js", _js_render, js_filler, ("'use strict';", "")),
    "ts": Format("ts", _ts_render, js_filler, ("import { z } from 'zod';", "")),
    "env": Format("env", env_render, env_filler, ("# Service environment",)),
    "yaml": Format("yaml", yaml_render, yaml_filler, ("# Deployment settings",)),
    "gha": Format("gha", gha_render, gha_filler, tuple(GHA_HEAD), tuple(GHA_TAIL)),
    "json": Format("json", json_render, json_filler, ("{",), ("}",), json_commas=True),
    "toml": Format("toml", toml_render, toml_filler, ("[tool.service]",)),
    "ini": Format("ini", ini_render, ini_filler, ("[default]",)),
    "tf": Format("tf", tf_render, tf_filler, ("terraform {", '  required_version = ">= 1.5"', "}", "")),
    "docker": Format("docker", docker_render, docker_filler, ("FROM python:3.12-slim", "WORKDIR /app")),
    "sh": Format("sh", sh_render, sh_filler, ("#!/usr/bin/env bash", "set -euo pipefail", "")),
    "md": Format("md", md_render, md_filler, ("# Service", "")),
}
