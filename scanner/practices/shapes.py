"""Byte shapes a practice rule needs before its check can report anything: the prefilter that decides,
per file, which rules run and whether the file is parsed at all.

A rule declares its needs per language (``Needs``): one or more alternatives, each a list of shape
groups that must all be present; a group is present when any of its shapes occurs in the raw bytes. A
rule declares what its check cannot do without: the call, keyword or import it is about (``OpenAI`` for
a client construction, ``max_retries`` for disabled retries, a framework's name for a request handler).
The declarations are checked by running every rule's examples and the fixture suite with and without the
gate (``tests/test_practice_gate.py``).

Shapes are words (a substring, as identifiers are written), caseless words, regular expressions guarded
by words they cannot match without, and evidence tests (Python predicates over the bytes, e.g. "a literal
that could be a key"). The words of all shapes are found in one Hyperscan pass (a literal
database, compiled in milliseconds; looked up one by one without the wheel); everything else is worked out
when a rule first asks for it and kept for the file. Groups are tried in the order written, so a rule's
cheapest, rarest shape goes first.

What the gate cannot see, the checks could: code spelt through escapes (``"org\\x2d..."``), an identifier
or literal split by implicit string concatenation, comments between the parts of one call (``x.create  #``
on its own line). Those files lose the findings of the rules whose shapes they hide, as the secret rules
already do for literals written that way.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache, cached_property
from types import ModuleType

from prodguard.scanner.practices.client_checks import is_literal_key, plain_http_url
from prodguard.scanner.practices.model import Language

hyperscan: ModuleType | None
try:  # pragma: no cover - exercised on machines with and without the wheel
    import hyperscan
except ImportError:  # pragma: no cover
    hyperscan = None


@dataclass(frozen=True)
class Word:
    """A substring, case-sensitive."""

    text: bytes

    def test(self, view: FileView) -> bool:
        return view.has_word(self.text)


@dataclass(frozen=True)
class Caseless:
    """A substring in any case (``HTTP://``, ``LOGGER``); ``text`` is lower-case."""

    text: bytes

    def test(self, view: FileView) -> bool:
        return self.text in view.lowered


@dataclass(frozen=True)
class Pattern:
    """A regular expression, searched only when one of ``guards`` (words it cannot match without) occurs."""

    regex: bytes
    guards: tuple[bytes, ...]
    compiled: re.Pattern[bytes] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "compiled", re.compile(self.regex))

    def __hash__(self) -> int:
        return hash((self.regex, self.guards))

    def test(self, view: FileView) -> bool:
        return any(view.has_word(g) for g in self.guards) and self.compiled.search(view.data) is not None


@dataclass(frozen=True)
class Evidence:
    """A test over the whole file for what a pattern cannot say (a literal that could be a key, a
    plain-HTTP URL to a host that is not this machine). It answers ``True`` whenever it cannot tell."""

    name: str
    predicate: Callable[[bytes], bool] = field(compare=False)

    def test(self, view: FileView) -> bool:
        return self.predicate(view.data)


Shape = Word | Caseless | Pattern | Evidence
Group = tuple[Shape, ...]  # present when any of its shapes occurs


def words(*names: str) -> tuple[Word, ...]:
    return tuple(Word(name.encode("utf-8")) for name in names)


@dataclass(frozen=True)
class Needs:
    """What a file must hold for a rule to report there: every group of at least one alternative."""

    alternatives: tuple[tuple[Group, ...], ...]

    @classmethod
    def all_of(cls, *groups: Iterable[Shape]) -> Needs:
        """One alternative: every group present (a group is any of its shapes), tried in this order."""
        return cls((tuple(tuple(group) for group in groups),))

    def __or__(self, other: Needs) -> Needs:
        return Needs(self.alternatives + other.alternatives)

    def __and__(self, other: Needs) -> Needs:
        """Both: every alternative of one combined with every alternative of the other."""
        return Needs(tuple(a + b for a in self.alternatives for b in other.alternatives))

    def met_by(self, has: Callable[[Shape], bool]) -> bool:
        """Whether the file holds what one alternative needs; ``has`` answers for one shape."""
        return any(
            all(any(has(shape) for shape in group) for group in alternative)
            for alternative in self.alternatives
        )


class FileView:
    """One file as the shapes see it: its bytes, the words found in one pass, the lower-cased bytes when a
    caseless shape asks, and every answer given so far."""

    def __init__(self, data: bytes, words: WordIndex | None = None) -> None:
        self.data = data
        self._indexed = words.words if words is not None else frozenset()
        self._found = words.found(data) if words is not None else set()
        self._known: dict[Shape, bool] = {}

    def has_word(self, word: bytes) -> bool:
        return word in self._found if word in self._indexed else word in self.data

    @cached_property
    def lowered(self) -> bytes:
        return self.data.lower()

    def has(self, shape: Shape) -> bool:
        answer = self._known.get(shape)
        if answer is None:
            answer = self._known[shape] = shape.test(self)
        return answer


class WordIndex:
    """The words of all shapes (``Word`` texts and pattern guards) in one Hyperscan literal database: one
    pass per file reports which occur. A literal database compiles in milliseconds; without Hyperscan,
    ``FileView`` looks each word up when a rule asks."""

    def __init__(self, words: Iterable[bytes]) -> None:
        assert hyperscan is not None
        ordered = tuple(sorted(set(words)))
        self.words = frozenset(ordered)
        self._ordered = ordered
        self._db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        self._db.compile(
            expressions=[re.escape(w) for w in ordered],
            ids=list(range(len(ordered))),
            elements=len(ordered),
            flags=[hyperscan.HS_FLAG_SINGLEMATCH] * len(ordered),
        )

    def found(self, data: bytes) -> set[bytes]:
        hits: set[bytes] = set()
        ordered = self._ordered

        def on_match(wid: int, _start: int, _end: int, _flags: int, _ctx: object) -> None:
            hits.add(ordered[wid])

        if data:
            self._db.scan(data, match_event_handler=on_match)
        return hits


@dataclass(frozen=True)
class Gate:
    """The needs of every gated (rule, language); rules without needs always run."""

    needs: Mapping[tuple[str, Language], Needs]
    use_hyperscan: bool = True

    @classmethod
    def open(cls) -> Gate:
        """A gate that lets every rule through (to compare findings with and without the shapes)."""
        return cls({})

    @cached_property
    def word_index(self) -> WordIndex | None:
        """Built on first use, in the process that uses it (never pickled)."""
        words: set[bytes] = set()
        for needs in self.needs.values():
            for alternative in needs.alternatives:
                for group in alternative:
                    for shape in group:
                        if isinstance(shape, Word):
                            words.add(shape.text)
                        elif isinstance(shape, Pattern):
                            words.update(shape.guards)
        usable = self.use_hyperscan and hyperscan is not None
        return WordIndex(words) if usable and words else None

    def __getstate__(self) -> dict[str, object]:
        return {"needs": self.needs, "use_hyperscan": self.use_hyperscan}

    def __setstate__(self, state: dict[str, object]) -> None:
        for name, value in state.items():
            object.__setattr__(self, name, value)

    def passing(self, rule_ids: Iterable[str], language: Language, data: bytes) -> list[str]:
        """The rules of ``rule_ids`` that may report in ``data`` (read as ``language``)."""
        rule_ids = list(rule_ids)
        if not any((rule_id, language) in self.needs for rule_id in rule_ids):
            return rule_ids
        view = FileView(data, self.word_index)
        kept = []
        for rule_id in rule_ids:
            needs = self.needs.get((rule_id, language))
            if needs is None or needs.met_by(view.has):
                kept.append(rule_id)
        return kept


# ---- Python: the shapes the checks in call_checks, client_checks and request_checks are built on ----------

# The SDK named the way ``pyfacts`` resolves it: an absolute import of ``openai`` (``import openai``,
# ``import os, openai as o``, ``from openai[.x] import …``) or a dotted name starting with ``openai.``.
# Client constructions, ``with_options`` and the legacy module client (``openai.api_key = …``) all need one.
_SDK = (b"openai",)


def _dotted_openai(data: bytes) -> bool:
    """``openai.`` as a name of its own (``openai.OpenAI``), not inside another (``api.openai.com``), not
    after ``//`` (a URL; floor division by the module is nothing the checks read) and not ``openai.com``
    (no check reads that attribute; the SDK's docstrings link the site hundreds of times)."""
    for match in _DOTTED.finditer(data):
        start = match.start()
        if start == 0 or not (
            data[start - 1 : start].isalnum() or data[start - 1] in b"_." or data[start - 2 : start] == b"//"
        ):
            return True
    return False


_DOTTED = re.compile(rb"openai[\s\\]*\.(?![\s\\]*com\b)")
# Every regular expression starts with a literal word, so that ``re`` skips to it instead of trying
# every position.
PY_OPENAI = Needs.all_of(
    [
        Pattern(rb"from[\s\\]+openai\b", _SDK),
        Pattern(rb"import[\s\\]+(?:[\w.]+(?:[\s\\]+as[\s\\]+\w+)?[\s\\]*,[\s\\]*)*openai\b", _SDK),
        Evidence("openai. as a name", _dotted_openai),
    ]
)
# A LangChain/LlamaIndex OpenAI model wrapper (``ChatOpenAI``, ``AzureOpenAI``…) imported from its package.
PY_WRAPPER = Needs.all_of(words("OpenAI"), words("langchain", "llama_index"))
# A client construction (``pyfacts.ModuleFacts.is_client_class``): a client class (``OpenAI``,
# ``AsyncOpenAI``, ``AzureOpenAI``…) called, or imported under another name (``OpenAI as Client``) that is
# then called. Its own definition (``class OpenAI(``, the SDK's sources) constructs nothing.
_CLIENT_USE = re.compile(rb"OpenAI(?:[\s\\]*\(|[\s\\]+as\b)")


def _client_class_used(data: bytes) -> bool:
    for match in _CLIENT_USE.finditer(data):
        start = match.start()
        while start and (data[start - 1 : start].isalnum() or data[start - 1] in b"_."):
            start -= 1
        if data[max(0, start - 6) : start] != b"class ":
            return True
    return False


_CLIENT_CLASS = Evidence("a client class called or imported under another name", _client_class_used)
PY_CLIENT = Needs.all_of(words("OpenAI"), [_CLIENT_CLASS]) & PY_OPENAI
# A generation request (``pyfacts.ModuleFacts.generation_calls``): an SDK call chain whose verb follows the
# resource (``completions.create``, ``responses.with_raw_response.parse``, legacy ``Completion.acreate``,
# also when bound to a name first), a REST ``.post`` to the generation endpoints, the Agents SDK, or a
# model wrapper.
_WRAPPED = rb"(?:(?:with_raw_response|with_streaming_response|beta)[\s\\]*\.[\s\\]*){0,2}"
_CHAIN = rb"[\s\\]*\.[\s\\]*" + _WRAPPED  # after the resource's name
_RESOURCES = (b"completions", b"responses", b"Completion")


def _after(names: tuple[bytes, ...], rest: bytes) -> list[Shape]:
    """``name`` + ``rest`` for each name, one pattern each: a pattern starting with a literal is searched
    for at the speed of a substring search; an alternation would be tried at every byte."""
    return [Pattern(re.escape(name) + rest, (name,)) for name in names]


# The chain is called, or bound to a name (``create = client.chat.completions.create``) that is called:
# never followed by ``,``, ``]``, ``}``, ``=``, ``:`` or an attribute other than a response wrapper (an
# argument or element, as in the SDK's own ``to_raw_response_wrapper(completions.create,)``; an
# assignment target; an annotation).
_USED = rb"\b(?![\s\\]*(?:[,\]}=:]|\.(?![\s\\]*(?:with_raw_response|with_streaming_response|beta)\b)))"
PY_GENERATION = (
    Needs.all_of(_after(_RESOURCES, _CHAIN + rb"a?(?:create|parse|stream)" + _USED))
    | Needs.all_of(words("completions", "responses"), [Pattern(rb"\.[\s\\]*post\b", (b"post",))])
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
# ``os.environ[...] = …``, ``os.environ.setdefault``, ``os.putenv``: options handed over the environment
# (``client_checks._environ_assignments``; ``os.environ.get`` reads).
PY_ENVIRON = Needs.all_of(
    [
        Pattern(rb"environ(?:[\s\\]*\[|[\s\\]*\.[\s\\]*setdefault\b|[\s\\]+as\b)", (b"environ",)),
        Word(b"putenv"),
    ]
)


def _option(*names: str) -> Needs:
    """A client option written in code (``client_checks._option_values``, ``module_client_assignments``):
    a keyword of a client construction or of ``with_options``, or an attribute of the legacy module
    client assigned (``openai.<name> = …``)."""
    assigned = rb"\.[\s\\]*(?:" + b"|".join(n.encode() for n in names) + rb")[\s\\]*(?::|=(?!=))"
    where = Needs.all_of(
        [_CLIENT_CLASS, Word(b"with_options"), Pattern(assigned, tuple(n.encode() for n in names))]
    )
    return Needs.all_of(words(*names)) & PY_OPENAI & where


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


_MODERATION = (b"moderations", b"Moderation")
KEY_LITERAL = Evidence("a literal that could be a key", _could_be_key)
REMOTE_HTTP = Evidence("a plain-HTTP URL to another host", _plain_http_to_a_remote_host)

PYTHON_NEEDS: dict[str, Needs] = {
    "PG207": PY_CLIENT,
    "PG301": (_option("api_key") | PY_ENVIRON) & Needs.all_of([KEY_LITERAL]),
    "PG302": (_option("organization", "project", "default_headers") | PY_ENVIRON)
    & Needs.all_of(words("org-", "proj_")),
    "PG303": _option("base_url", "azure_endpoint", "api_base")
    & Needs.all_of([Caseless(b"http://")], [REMOTE_HTTP]),
    "PG304": _option("http_client") & Needs.all_of(words("verify")),
    "PG305": _option("max_retries"),
    "PG306": PY_GENERATION,
    # print/pprint/rich.print, or a logger: every name ``_is_logger`` accepts holds "log" in some case.
    "PG307": PY_GENERATION & Needs.all_of([Word(b"print"), Caseless(b"log")]),
    "PG308": PY_GENERATION & PY_SERVICE,
    "PG309": PY_GENERATION & PY_SERVICE,
    "PG311": PY_GENERATION & PY_SERVICE,
    # ``moderations.create(...)`` or the legacy ``openai.Moderation.create(...)`` called.
    "PG312": Needs.all_of(_after(_MODERATION, rb"[\s\\]*\.[\s\\]*create[\s\\]*\(")),
    "PG313": PY_GENERATION & PY_SERVICE,
    # The check reports only in modules that serve requests (``is_service_module`` or a user-facing
    # request, which needs a framework imported too).
    "PG314": (PY_CLIENT | PY_WRAPPER) & PY_SERVICE,
    # ``parse(...)`` (an SDK chain or a wrapper's method) whose ``parsed``/``output_parsed`` is read.
    "PG315": Needs.all_of(words("parsed"))
    & (Needs.all_of(_after(_RESOURCES, _CHAIN + rb"parse" + _USED)) | PY_WRAPPER),
}

# ---- JavaScript/TypeScript: the shapes of jsfacts and js_checks --------------------------------------------

# An import of an OpenAI-speaking package (``jsfacts._OPENAI_PACKAGES``, the AI SDK's OpenAI and Azure
# providers, LangChain's OpenAI wrappers): every client construction and every SDK call chain on a client
# of unknown origin needs one.
JS_PACKAGE = Needs.all_of([Pattern(rb"[\"'`/]openai\b", _SDK), Word(b"@ai-sdk/azure")])
JS_GENERATION = (
    (JS_PACKAGE & Needs.all_of(words("completions", "responses", "OpenAI")))
    | Needs.all_of(words("generateText", "streamText", "generateObject", "streamObject"))
    | Needs.all_of(words("/chat/completions", "/v1/responses"))
)

SCRIPT_NEEDS: dict[str, Needs] = {
    "PG207": JS_PACKAGE & Needs.all_of(words("OpenAI")),
    "PG301": JS_PACKAGE,
    "PG302": JS_PACKAGE,
    "PG303": JS_PACKAGE,
    "PG304": JS_PACKAGE & Needs.all_of(words("rejectUnauthorized", "NODE_TLS_REJECT_UNAUTHORIZED")),
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
def default_gate() -> Gate:
    """The gate of the built-in rules."""
    needs = {(rule_id, Language.PYTHON): n for rule_id, n in PYTHON_NEEDS.items()}
    for language in (Language.JAVASCRIPT, Language.TYPESCRIPT):
        needs.update({(rule_id, language): n for rule_id, n in SCRIPT_NEEDS.items()})
    return Gate(needs)
