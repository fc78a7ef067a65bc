"""Byte shapes a practice rule needs before its check can report anything: the prefilter that decides,
per file, which rules run and whether the file is parsed at all.

A rule declares its needs per language (``Needs``): one or more alternatives, each a list of shape
groups that must all be present; a group is present when any of its shapes occurs in the raw bytes.
Shapes are regular expressions, most of them plain words. A rule declares what its check cannot do
without: the call, keyword or import it is about (``OpenAI`` for a client construction, ``max_retries`` for
disabled retries, a framework's name for a request handler). The declaration is checked by running every
rule's examples and the fixture suite with and without the gate (``tests/test_practice_gate.py``).

What the gate cannot see, the checks could: code spelt through escapes (``"org\\x2d…"``), an identifier or
literal split by implicit string concatenation, comments between the parts of one call (``x.create  # …``
on its own line). Those files lose the findings of the rules whose shapes they hide, as the secret rules
already do for literals written that way.

All shapes of all rules are compiled into one Hyperscan database that reports each shape once per file
(one pass, well over 1 GB/s); without Hyperscan each shape is searched with ``re``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from types import ModuleType

from prodguard.scanner.practices.client_checks import is_literal_key, plain_http_url
from prodguard.scanner.practices.model import Language

hyperscan: ModuleType | None
try:  # pragma: no cover - exercised on machines with and without the wheel
    import hyperscan
except ImportError:  # pragma: no cover
    hyperscan = None


@dataclass(frozen=True)
class Evidence:
    """A test over the whole file for what a regular expression cannot say (a literal that could be a key,
    a plain-HTTP URL to a host that is not this machine). Run only when the other groups of an
    alternative are present; it answers ``True`` whenever it cannot tell."""

    name: str
    test: Callable[[bytes], bool]


Shape = bytes | Evidence  # bytes: a regular expression over the file's bytes
Group = frozenset[Shape]  # present when any of its shapes occurs


def words(*names: str) -> tuple[bytes, ...]:
    """Shapes for literal words (case-sensitive, as identifiers are)."""
    return tuple(re.escape(name.encode("utf-8")) for name in names)


@dataclass(frozen=True)
class Needs:
    """What a file must hold for a rule to report there: every group of at least one alternative."""

    alternatives: tuple[tuple[Group, ...], ...]

    @classmethod
    def all_of(cls, *groups: Iterable[Shape]) -> Needs:
        """One alternative: every group present (a group is any of its shapes)."""
        return cls((tuple(frozenset(group) for group in groups),))

    def __or__(self, other: Needs) -> Needs:
        return Needs(self.alternatives + other.alternatives)

    def __and__(self, other: Needs) -> Needs:
        """Both: every alternative of one combined with every alternative of the other."""
        return Needs(tuple(a + b for a in self.alternatives for b in other.alternatives))

    @property
    def shapes(self) -> frozenset[Shape]:
        return frozenset(
            shape for alternative in self.alternatives for group in alternative for shape in group
        )

    def met_by(self, has: Callable[[Shape], bool]) -> bool:
        """Whether the file holds what one alternative needs; ``has`` answers for one shape."""
        return any(
            all(any(has(shape) for shape in group) for group in alternative)
            for alternative in self.alternatives
        )


class ShapeIndex:
    """Answers "does this shape occur in the file" for a fixed set of shapes.

    Compiled (for scans large enough to pay ~0.5 s once, before worker processes fork): one Hyperscan pass
    reports every shape present. Otherwise each shape is searched with ``re`` when a rule asks for it, and
    the answer is kept for the file: a pre-commit run over a few files pays for nothing it does not use."""

    def __init__(self, shapes: Iterable[Shape], *, compiled: bool = False) -> None:
        self._shapes = tuple(sorted({s for s in shapes if isinstance(s, bytes)}))
        self._compiled = compiled
        self._regexes = {shape: re.compile(shape) for shape in self._shapes}
        self._db = None
        if compiled and hyperscan is not None and self._shapes:
            db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
            db.compile(
                expressions=list(self._shapes),
                ids=list(range(len(self._shapes))),
                elements=len(self._shapes),
                flags=[hyperscan.HS_FLAG_SINGLEMATCH] * len(self._shapes),
            )
            self._db = db

    def probe(self, data: bytes) -> Callable[[Shape], bool]:
        """A membership test for the shapes of ``data``."""
        known: dict[Shape, bool] = {}
        if self._db is not None:
            shapes = self._shapes

            def on_match(sid: int, _start: int, _end: int, _flags: int, _ctx: object) -> None:
                known[shapes[sid]] = True

            if data:
                self._db.scan(data, match_event_handler=on_match)
            for shape in shapes:
                known.setdefault(shape, False)
        regexes = self._regexes

        def has(shape: Shape) -> bool:
            answer = known.get(shape)
            if answer is None:
                if isinstance(shape, Evidence):
                    answer = shape.test(data)
                else:
                    answer = regexes[shape].search(data) is not None
                known[shape] = answer
            return answer

        return has

    def __reduce__(self) -> tuple[type, tuple[tuple[bytes, ...]], dict[str, bool]]:
        # A Hyperscan database is rebuilt in the receiving process rather than pickled.
        return (type(self), (self._shapes,), {"_compiled": self._compiled})

    def __setstate__(self, state: dict[str, bool]) -> None:
        if state.get("_compiled"):
            self.__init__(self._shapes, compiled=True)  # type: ignore[misc]


@dataclass(frozen=True)
class Gate:
    """The needs of every gated (rule, language); rules without needs always run."""

    needs: Mapping[tuple[str, Language], Needs]
    index: ShapeIndex

    @classmethod
    def build(cls, needs: Mapping[tuple[str, Language], Needs], *, compiled: bool = False) -> Gate:
        shapes = frozenset(shape for n in needs.values() for shape in n.shapes)
        return cls(needs, ShapeIndex(shapes, compiled=compiled))

    @classmethod
    def open(cls) -> Gate:
        """A gate that lets every rule through (to compare findings with and without the shapes)."""
        return cls({}, ShapeIndex(()))

    def passing(self, rule_ids: Iterable[str], language: Language, data: bytes) -> list[str]:
        """The rules of ``rule_ids`` that may report in ``data`` (read as ``language``)."""
        rule_ids = list(rule_ids)
        if not any((rule_id, language) in self.needs for rule_id in rule_ids):
            return rule_ids
        has = self.index.probe(data)
        kept = []
        for rule_id in rule_ids:
            needs = self.needs.get((rule_id, language))
            if needs is None or needs.met_by(has):
                kept.append(rule_id)
        return kept


# ---- Python: the shapes the checks in call_checks, client_checks and request_checks are built on ----------

# The SDK named the way ``pyfacts`` resolves it: an absolute import of ``openai`` (``import openai``,
# ``import os, openai as o``, ``from openai[.x] import …``) or a dotted name starting with ``openai.``.
# Client constructions, ``with_options`` and the legacy module client (``openai.api_key = …``) all need one.
PY_OPENAI = Needs.all_of(
    [
        rb"\bfrom[\s\\]+openai\b",
        rb"\bimport[\s\\]+(?:[\w.]+(?:[\s\\]+as[\s\\]+\w+)?[\s\\]*,[\s\\]*)*openai\b",
        rb"(?:^|[^\w.])openai[\s\\]*\.",
    ]
)
# A LangChain/LlamaIndex OpenAI model wrapper (``ChatOpenAI``, ``AzureOpenAI``…) imported from its package.
PY_WRAPPER = Needs.all_of(words("OpenAI"), words("langchain", "llama_index"))
# A client construction (``OpenAI``, ``AsyncOpenAI``, ``AzureOpenAI``…; an alias is imported under the
# class's own name first).
PY_CLIENT = Needs.all_of(words("OpenAI")) & PY_OPENAI
# A generation request (``pyfacts.ModuleFacts.generation_calls``): an SDK call chain whose verb follows the
# resource (``completions.create``, ``responses.with_raw_response.parse``, legacy ``Completion.acreate``,
# also when bound to a name first), a REST ``.post`` to the generation endpoints, the Agents SDK, or a
# model wrapper.
_WRAPPED = rb"(?:(?:with_raw_response|with_streaming_response|beta)[\s\\]*\.[\s\\]*){0,2}"
_CHAIN = rb"(?:completions|responses|Completion)[\s\\]*\.[\s\\]*" + _WRAPPED
PY_GENERATION = (
    Needs.all_of([_CHAIN + rb"a?(?:create|parse|stream)\b"])
    | Needs.all_of(words("completions", "responses"), [rb"\.[\s\\]*post\b"])
    | Needs.all_of(words("agents"))
    | PY_WRAPPER
)
# A request handler or a per-visitor UI script (``ModuleFacts.user_reach``): a web or UI framework imported.
PY_SERVICE = Needs.all_of(
    words(
        "fastapi", "flask", "django", "rest_framework", "starlette", "aiohttp", "quart", "sanic", "litestar",
        "tornado", "falcon", "bottle", "ninja", "chainlit", "streamlit", "gradio",
    )
)  # fmt: skip
# ``os.environ[...] = …``, ``os.environ.setdefault``, ``os.putenv``: options handed over the environment.
PY_ENVIRON = Needs.all_of(words("environ", "putenv"))


def _option(*names: str) -> Needs:
    """A client option written in code: a keyword of a construction or ``with_options``, or an attribute
    of the legacy module client."""
    return PY_OPENAI & Needs.all_of(words(*names))


def _could_be_key(data: bytes) -> bool:
    """Some string literal could pass ``client_checks.is_literal_key`` (16 or more characters, no
    whitespace inside, random-looking): every run of characters between two quotes of one kind is tried,
    so a plainly written literal is among them whatever surrounds it. A run with a backslash and no raw
    whitespace inside could be a literal written with escapes, whose value the bytes do not show."""
    for quote in (b'"', b"'"):
        for segment in data.split(quote):
            if len(segment) < 16:
                continue
            value = segment.strip()
            if _SPACE.search(value.replace(b"\\\r\n", b"").replace(b"\\\n", b"")):
                continue  # raw whitespace inside: in a literal's value too
            if b"\\" in value or (len(value) >= 16 and is_literal_key(value.decode("utf-8", "replace"))):
                return True
    return False


_SPACE = re.compile(rb"\s")
_HTTP = re.compile(rb"(?i)http://[^\s'\"`]*")


def _plain_http_to_a_remote_host(data: bytes) -> bool:
    """Some ``http://`` URL in the file is one ``client_checks.plain_http_url`` reports (a host that is not
    this machine, a stand-in or a documentation domain), or cannot be judged from the bytes (escapes, an
    f-string placeholder or a quote right after the scheme)."""
    for match in _HTTP.finditer(data):
        url = match.group().decode("utf-8", "replace")
        head = url.split("{", 1)[0]
        if "\\" in url or len(head) <= len("http://") or plain_http_url(head) is not None:
            return True
    return False


KEY_LITERAL = Evidence("a literal that could be a key", _could_be_key)
REMOTE_HTTP = Evidence("a plain-HTTP URL to another host", _plain_http_to_a_remote_host)

PYTHON_NEEDS: dict[str, Needs] = {
    "PG207": PY_CLIENT,
    "PG301": (_option("api_key") | PY_ENVIRON) & Needs.all_of([KEY_LITERAL]),
    "PG302": (_option("organization", "project", "default_headers") | PY_ENVIRON)
    & Needs.all_of(words("org-", "proj_")),
    "PG303": _option("base_url", "azure_endpoint", "api_base")
    & Needs.all_of([rb"(?i)http://"], [REMOTE_HTTP]),
    "PG304": _option("http_client") & Needs.all_of(words("verify")),
    "PG305": _option("max_retries"),
    "PG306": PY_GENERATION,
    # print/pprint/rich.print, or a logger: every name ``_is_logger`` accepts holds "log" in some case.
    "PG307": PY_GENERATION & Needs.all_of([rb"print", rb"(?i)log"]),
    "PG308": PY_GENERATION & PY_SERVICE,
    "PG309": PY_GENERATION & PY_SERVICE,
    "PG311": PY_GENERATION & PY_SERVICE,
    "PG312": Needs.all_of(words("moderations", "Moderation"), words("create")),
    "PG313": PY_GENERATION & PY_SERVICE,
    "PG314": PY_CLIENT | PY_WRAPPER,
    # ``parse(...)`` (an SDK chain or a wrapper's method) whose ``parsed``/``output_parsed`` is read.
    "PG315": (Needs.all_of([_CHAIN + rb"parse\b"]) | PY_WRAPPER) & Needs.all_of(words("parsed")),
}

# ---- JavaScript/TypeScript: the shapes of jsfacts and js_checks --------------------------------------------

# An import of an OpenAI-speaking package (``jsfacts._OPENAI_PACKAGES``, the AI SDK's OpenAI and Azure
# providers, LangChain's OpenAI wrappers): every client construction and every SDK call chain on a client
# of unknown origin needs one.
JS_PACKAGE = Needs.all_of([rb"[\"'`/]openai\b", re.escape(b"@ai-sdk/azure")])
JS_GENERATION = (
    (JS_PACKAGE & Needs.all_of(words("completions", "responses", "OpenAI")))
    | Needs.all_of(words("generateText", "streamText", "generateObject", "streamObject"))
    | Needs.all_of(words("/chat/completions", "/v1/responses"))
)

SCRIPT_NEEDS: dict[str, Needs] = {
    "PG301": JS_PACKAGE,
    "PG302": JS_PACKAGE,
    "PG303": JS_PACKAGE,
    "PG305": JS_PACKAGE,
    "PG306": JS_GENERATION,
    "PG307": JS_GENERATION,
    "PG308": JS_GENERATION,
    "PG309": JS_GENERATION,
    "PG311": JS_GENERATION,
    "PG312": Needs.all_of(words("moderations"), words("create")),
    "PG313": JS_GENERATION,
    "PG314": JS_PACKAGE | JS_GENERATION,
    "PG315": JS_GENERATION,
}


@cache
def default_gate(*, compiled: bool = False) -> Gate:
    """The gate of the built-in rules, built once per process; ``compiled`` for large scans (built in the
    parent before the pool forks, so the workers share it)."""
    needs = {(rule_id, Language.PYTHON): n for rule_id, n in PYTHON_NEEDS.items()}
    for language in (Language.JAVASCRIPT, Language.TYPESCRIPT):
        needs.update({(rule_id, language): n for rule_id, n in SCRIPT_NEEDS.items()})
    return Gate.build(needs, compiled=compiled)
