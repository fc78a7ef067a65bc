"""The practice checks on JavaScript and TypeScript (facts from ``jsfacts``). Each mirrors the Python
check of the same rule; the rule pages say what each covers in both languages."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from functools import lru_cache

from tree_sitter import Node

from prodguard.rules.validators import is_placeholder
from prodguard.scanner.practices.client_checks import (
    ORG_ID,
    PROJECT_ID,
    is_literal_key,
    is_local_host,
    plain_http_url,
    url_host,
)
from prodguard.scanner.practices.jsfacts import (
    Generation,
    Options,
    ScriptFacts,
    facts,
    member_chain,
    string_value,
    text,
    unwrap,
)
from prodguard.scanner.practices.model import Hit, ScriptCheck, ScriptFile

_CAPS = {
    "chat": ("max_tokens", "max_completion_tokens"),
    "responses": ("max_output_tokens",),
    "ai": ("maxTokens", "maxOutputTokens"),
    "rest": ("max_tokens", "max_completion_tokens", "max_output_tokens"),
    "langchain": ("maxTokens", "max_tokens", "maxCompletionTokens"),
}
_KEY_OPTIONS = ("apiKey", "openAIApiKey", "azureOpenAIApiKey")
_END_USER_KEYS = ("user", "safety_identifier", "safetyIdentifier")
_METADATA = frozenset(
    {
        "usage", "id", "model", "created", "created_at", "object", "system_fingerprint", "status",
        "finish_reason", "index", "role", "type", "error", "length", "prompt_tokens", "completion_tokens",
        "total_tokens", "input_tokens", "output_tokens", "headers", "request_id", "_request_id",
    }
)  # fmt: skip
_LOG_METHODS = frozenset({"log", "info", "debug", "warn", "error", "trace"})
_LOGGERS = frozenset({"console", "logger", "log", "pino", "winston"})
_REQUEST_READS = (
    "req.body", "req.query", "req.params", "request.body", "request.query", ".json()", "c.req.",
    "searchParams.get(", "formData.get(", "request.formData(", "req.json(", "request.json(",
)  # fmt: skip
_RETRY_PACKAGES = frozenset({"p-retry", "async-retry", "retry", "exponential-backoff", "axios-retry"})
_FRAMEWORKS_FIX = {
    "express": "reject with `res.status(400)`",
    "hono": "return `c.json({ error }, 400)`",
    "next": "return `NextResponse.json({ error }, { status: 400 })`",
}


def _column(file: ScriptFile, row: int, byte_column: int) -> int:
    line = file.lines[row] if 0 <= row < len(file.lines) else ""
    return len(line.encode("utf-8", "surrogatepass")[:byte_column].decode("utf-8", "replace"))


def hit_at(file: ScriptFile, rule_id: str, node: Node, detail: str = "") -> Hit:
    (row, col), (end_row, end_col) = node.start_point, node.end_point
    return Hit(
        rule_id, row + 1, _column(file, row, col), end_row + 1, _column(file, end_row, end_col), detail
    )


def _secret_hit(file: ScriptFile, rule_id: str, literal: Node, detail: str) -> Hit:
    hit = hit_at(file, rule_id, literal, detail)
    line = file.lines[hit.line - 1] if hit.line <= len(file.lines) else ""
    value = string_value(literal) or ""
    start = line.find(value, hit.column) if value and hit.line == hit.end_line else -1
    span = (start, start + len(value)) if start >= 0 else (0, len(line))
    return replace(hit, redact_columns=span)


def _generation_family(generation: Generation) -> str:
    return generation.api.split(".", 1)[0]


# ---- keys, organizations, transport, retries ---------------------------------------------------------


def _literal(module: ScriptFacts, node: Node | None, function: int) -> Node | None:
    """A string literal ``node`` is, names once, or falls back to (``process.env.X ?? "…"``)."""
    value = module.resolve(node, function)
    if value is not None and value.type == "binary_expression":
        operator = text(value.child_by_field_name("operator"))
        if operator in ("??", "||"):
            value = module.resolve(value.child_by_field_name("right"), function)
    if value is not None and value.type in ("string", "template_string") and string_value(value) is not None:
        return value
    return None


def _key_literals(module: ScriptFacts, *, local_servers: bool) -> Iterator[Node]:
    seen: set[int] = set()
    for _node, options, function in module.client_constructions():
        for name in _KEY_OPTIONS:
            literal = _literal(module, options.value(name), function)
            key = string_value(literal)
            if literal is None or key is None or literal.id in seen or not is_literal_key(key):
                continue
            base = string_value(_literal(module, options.value("baseURL"), function))
            host = url_host(base) if base else None
            local = host is not None and is_local_host(host)
            if local and not local_servers and not (key.startswith("sk-") and len(key) >= 40):
                continue
            seen.add(literal.id)
            yield literal


def literal_api_key(file: ScriptFile) -> Iterator[Hit]:
    """PG301 (JS/TS): ``new OpenAI({ apiKey: "<literal>" })`` (also AzureOpenAI, ``createOpenAI``,
    LangChain's ``openAIApiKey``), directly, through a ``const``, or as the fallback of ``??``/``||``."""
    for literal in _key_literals(facts(file), local_servers=False):
        yield _secret_hit(file, "PG301", literal, "literal apiKey on the client")


@lru_cache(maxsize=4)
def _key_spans(file: ScriptFile) -> dict[int, tuple[int, int]]:
    spans: dict[int, tuple[int, int]] = {}
    for literal in _key_literals(facts(file), local_servers=True):
        hit = _secret_hit(file, "PG301", literal, "")
        if hit.redact_columns is not None:
            spans[hit.line] = (0, len(file.lines[hit.line - 1])) if hit.line in spans else hit.redact_columns
    return spans


def hiding_literal_keys(check: ScriptCheck) -> ScriptCheck:
    """``check`` with literal keys on its hits' lines redacted (see the Python twin)."""

    def hidden(file: ScriptFile) -> Iterator[Hit]:
        for hit in check(file):
            span = _key_spans(file).get(hit.line)
            yield replace(hit, redact_columns=span) if span and hit.redact_columns is None else hit

    return hidden


def literal_organization(file: ScriptFile) -> Iterator[Hit]:
    """PG302 (JS/TS): ``organization: "org-…"`` or ``project: "proj_…"`` on a client."""
    module = facts(file)
    for _node, options, function in module.client_constructions():
        for name, pattern in (("organization", ORG_ID), ("project", PROJECT_ID)):
            literal = _literal(module, options.value(name), function)
            value = string_value(literal)
            if literal is not None and value and pattern.match(value) and not is_placeholder(value):
                yield hit_at(file, "PG302", literal, f"{name} ID written in code")


def plain_http_base_url(file: ScriptFile) -> Iterator[Hit]:
    """PG303 (JS/TS): ``baseURL``/``endpoint`` over ``http://`` to a host that is not this machine."""
    module = facts(file)
    for _node, options, function in module.client_constructions():
        for name in ("baseURL", "endpoint"):
            literal = _literal(module, options.value(name), function)
            url = string_value(literal)
            if literal is not None and url and plain_http_url(url) is not None:
                yield hit_at(file, "PG303", literal, f"plain-HTTP endpoint {url_host(url)}")


def _has_retry(module: ScriptFacts) -> bool:
    """A retry package imported, a retry helper called, or LangChain's ``AsyncCaller`` (``this.caller.call``,
    which retries with exponential backoff) wrapping the requests."""
    if module.packages() & _RETRY_PACKAGES:
        return True
    for node, _ in module.calls:
        chain, _root = member_chain(node.child_by_field_name("function"))
        if chain[-2:] in (["caller", "call"], ["caller", "callWithOptions"]):
            return True
        if "retry" in text(node.child_by_field_name("function")).lower():
            return True
    return False


def retries_disabled(file: ScriptFile) -> Iterator[Hit]:
    """PG305 (JS/TS): ``maxRetries: 0`` on a client in a file with no retry of its own."""
    module = facts(file)
    zeros = [
        value
        for _node, options, function in module.client_constructions()
        if (value := module.resolve(options.value("maxRetries"), function)) is not None
        and value.type == "number"
        and text(value) == "0"
    ]
    if zeros and not _has_retry(module):
        for value in zeros:
            yield hit_at(file, "PG305", value, "retries disabled and no retry wrapper in this file")


# ---- generation requests ---------------------------------------------------------------------------


def uncapped_generation(file: ScriptFile) -> Iterator[Hit]:
    """PG306 (JS/TS): generation requests without an output-token cap. The legacy Completions API (its
    default cap is 16 tokens) and options objects with a spread are left alone."""
    for generation in facts(file).generations:
        options = generation.options
        if generation.is_legacy_completion or not options.complete or options.has("response_id"):
            continue
        if not options.has(*_CAPS[_generation_family(generation)]):
            yield hit_at(file, "PG306", generation.node, f"{generation.api} without an output-token cap")


def _requests(module: ScriptFacts) -> Iterator[Generation]:
    """Generation requests made for a user: in a function a request handler reaches; none in a file whose
    handlers build their client from the visitor's own key (as in Python: usage and abuse are then billed
    to the visitor's organization)."""
    if _visitor_supplies_key(module):
        return
    for generation in module.generations:
        if _generation_family(generation) != "langchain" and module.reach.is_user_facing(generation.function):
            yield generation


# Records that hold what one visitor stored or sent: their profile, account, session or settings.
_VISITOR_RECORDS = ("profile", "user", "session", "account")


def _visitor_supplies_key(module: ScriptFacts) -> bool:
    """A client built in a request path with the API key of the visitor: read from the request (body,
    query, headers) or from the visitor's stored record (``profile.openai_api_key``, ``session.user.key``)."""
    return any(
        takes_visitor_key(module, options, function)
        for _node, options, function in module.client_constructions()
    )


def takes_visitor_key(module: ScriptFacts, options: Options, function: int) -> bool:
    """The client options' key is the visitor's own (see ``_visitor_supplies_key``)."""
    value = options.value("apiKey") or options.value("openAIApiKey")
    if value is None or not module.reach.is_user_facing(function):
        return False
    return _reads_request(module, value, function) or _from_visitor_record(module, value, function)


def _from_visitor_record(module: ScriptFacts, node: Node | None, function: int, depth: int = 0) -> bool:
    """``node`` reads request headers or a visitor's record, directly or through names bound to it."""
    if node is None or depth > 3:
        return False
    if "headers" in text(node):
        return True
    for name in _identifiers(node):
        written = text(name)
        if written != "process" and any(record in written.lower() for record in _VISITOR_RECORDS):
            return True
        source = module.binding(written, function) or module.sources.get((function, written))
        if source is not None and _from_visitor_record(module, source, function, depth + 1):
            return True
    return False


def _framework(module: ScriptFacts) -> str:
    packages = module.packages()
    for name in ("express", "hono"):
        if name in packages:
            return name
    return "next" if any(p.startswith("next") for p in packages) or module.is_server else ""


def unmoderated_user_generation(file: ScriptFile) -> Iterator[Hit]:
    """PG308 (JS/TS): a request made for a user on a path with no moderation call."""
    module = facts(file)
    fix = _FRAMEWORKS_FIX.get(_framework(module), "")
    for generation in _requests(module):
        if not module.reach.is_moderated(generation.function):
            detail = f"{generation.api} answers users without moderation"
            yield hit_at(file, "PG308", generation.node, detail + (f"; if flagged, {fix}" if fix else ""))


def _mentions_end_user(options: Options) -> bool:
    if options.has(*_END_USER_KEYS):
        return True
    provider = options.value("providerOptions")
    return provider is not None and any(key in text(provider) for key in _END_USER_KEYS)


def missing_end_user_id(file: ScriptFile) -> Iterator[Hit]:
    """PG309 (JS/TS): a request made for a user with no ``safety_identifier``/``user``."""
    module = facts(file)
    for generation in _requests(module):
        if generation.options.complete and not _mentions_end_user(generation.options):
            yield hit_at(
                file, "PG309", generation.node, f"{generation.api} made for a user without safety_identifier"
            )


class _Taint:
    """Names in one function that hold response (or prompt) text."""

    def __init__(self, module: ScriptFacts, function: int) -> None:
        self.module = module
        self.function = function
        self.generations = {g.node.id for g in module.generations if g.function == function}

    def carries(self, node: Node | None, depth: int = 0) -> bool:
        node = unwrap(node)
        if node is None or depth > 6:
            return False
        if node.id in self.generations:
            return True
        if node.type == "identifier":
            name = text(node)
            value = self.module.binding(name, self.function)
            source = self.module.sources.get((self.function, name))
            return self.carries(value, depth + 1) or self.carries(source, depth + 1)
        if node.type == "member_expression":
            chain, root = member_chain(node)
            if any(part in _METADATA for part in chain):
                return False
            return self.carries(root, depth + 1)
        if node.type == "subscript_expression":
            return self.carries(node.child_by_field_name("object"), depth + 1)
        if node.type in (
            "template_string",
            "template_substitution",
            "binary_expression",
            "arguments",
            "array",
        ):
            return any(self.carries(child, depth + 1) for child in node.named_children)
        if node.type == "call_expression":
            callee = text(node.child_by_field_name("function"))
            if callee in ("JSON.stringify", "String") or callee.endswith((".toString", ".trim")):
                args = node.child_by_field_name("arguments")
                return self.carries(args, depth + 1) or self.carries(
                    node.child_by_field_name("function"), depth + 1
                )
        return False


def logged_prompt_or_response(file: ScriptFile) -> Iterator[Hit]:
    """PG307 (JS/TS): response text passed to ``console.*`` or a logger in server code (a script's
    console is its user interface and is left alone)."""
    module = facts(file)
    functions = {g.function for g in module.generations}
    if not functions:
        return
    for node, function in module.calls:
        if function not in functions or node.type != "call_expression":
            continue
        chain, root = member_chain(node.child_by_field_name("function"))
        if not chain or chain[-1] not in _LOG_METHODS or root is None:
            continue
        logger = text(root).lower()
        if logger not in _LOGGERS and not logger.endswith("logger"):
            continue
        if logger == "console" and not (module.is_server or module.reach.is_user_facing(function)):
            continue
        if _Taint(module, function).carries(node.child_by_field_name("arguments")):
            yield hit_at(file, "PG307", node, "response text passed to a logger")


# ---- new practices (PG311+) ---------------------------------------------------------------------------


def _reads_request(module: ScriptFacts, node: Node | None, function: int, depth: int = 0) -> bool:
    """``node`` is built from the request: ``req.body``, ``await req.json()``, ``c.req.query()`` … or a
    name bound to such a value (a few steps)."""
    if node is None or depth > 4:
        return False
    written = text(node)
    if any(read in written for read in _REQUEST_READS):
        return True
    names = [node] if node.type == "identifier" else _identifiers(node)
    for name in names:
        for scope in [function, *module.enclosing_functions(function)]:
            value = module.binding(text(name), scope)
            source = module.sources.get((scope, text(name)))
            if _reads_request(module, value, scope, depth + 1) or _reads_request(
                module, source, scope, depth + 1
            ):
                return True
    return False


def _identifiers(node: Node) -> list[Node]:
    found = []
    stack = [node]
    while stack:
        current = stack.pop()
        if current.type == "identifier":
            found.append(current)
        elif current.type not in ("string", "property_identifier"):
            stack.extend(current.named_children)
    return found


def _is_built(node: Node | None) -> bool:
    """A string put together at run time: a template with substitutions or a ``+`` concatenation."""
    node = unwrap(node)
    if node is None:
        return False
    if node.type == "template_string":
        return any(child.type == "template_substitution" for child in node.children)
    return node.type == "binary_expression" and text(node.child_by_field_name("operator")) == "+"


def _system_texts(module: ScriptFacts, generation: Generation) -> Iterator[Node]:
    options = generation.options
    for name in ("system", "instructions"):
        value = options.value(name)
        if value is not None:
            yield value
    messages = module.resolve(options.value("messages") or options.value("input"), generation.function)
    if messages is None or messages.type != "array":
        return
    for element in messages.named_children:
        message = module.options(element, generation.function)
        role = string_value(message.value("role"))
        content = message.value("content")
        if role in ("system", "developer") and content is not None:
            yield content


def user_input_in_system_prompt(file: ScriptFile) -> Iterator[Hit]:
    """PG311 (JS/TS): request data put into the system/developer prompt."""
    module = facts(file)
    for generation in _requests(module):
        for content in _system_texts(module, generation):
            value = module.resolve(content, generation.function)
            if _is_built(value) and _reads_request(module, value, generation.function):
                yield hit_at(file, "PG311", content, "request data in the system/developer prompt")


_MODERATION_READS = frozenset({"flagged", "categories", "category_scores", "categoryScores"})


def ignored_moderation(file: ScriptFile) -> Iterator[Hit]:
    """PG312 (JS/TS): a moderation result thrown away or never asked whether it was ``flagged``."""
    module = facts(file)
    for node, function in module.moderation_calls():
        outer = node
        while outer.parent is not None and outer.parent.type in (
            "await_expression",
            "parenthesized_expression",
        ):
            outer = outer.parent
        parent = outer.parent
        if parent is None:
            continue
        if parent.type == "expression_statement":
            yield hit_at(file, "PG312", node, "moderation result discarded")
            continue
        if parent.type not in ("variable_declarator", "member_expression"):
            continue  # returned, passed on or combined: judged where it is used
        scope = {function, *(f for f, p in module.parent.items() if p == function)}
        reads = {text(m.child_by_field_name("property")) for m, f in module.members if f in scope}
        if not reads & _MODERATION_READS and "flagged" not in text(
            module.functions[function - 1] if function else file.root
        ):
            yield hit_at(file, "PG312", node, "moderation result never checked for flagged")


def _in_try(node: Node) -> bool:
    child, current = node, node.parent
    while current is not None:
        if current.type == "try_statement" and current.child_by_field_name("body") == child:
            return True
        if current.type == "member_expression" and text(current.child_by_field_name("property")) == "catch":
            return True
        child, current = current, current.parent
    return False


def _has_error_handler(module: ScriptFacts) -> bool:
    """``app.onError(…)`` (Hono) or an Express error middleware (a function of four parameters)."""
    for node, _ in module.calls:
        chain, _root = member_chain(node.child_by_field_name("function"))
        if chain and chain[-1] in ("onError", "setErrorHandler"):
            return True
    for function in module.functions:
        parameters = function.child_by_field_name("parameters")
        if parameters is not None and len(parameters.named_children) == 4:
            return True
    return False


def _called_only_in_try(module: ScriptFacts) -> set[int]:
    """Functions of this file every call of which (by name) sits in a ``try`` (as in Python)."""
    inside: dict[int, bool] = {}
    for node, _function in module.calls:
        callee = node.child_by_field_name("function") if node.type == "call_expression" else None
        target = module.named_functions.get(text(callee)) if callee is not None else None
        if callee is not None and callee.type == "identifier" and target is not None:
            inside[target] = inside.get(target, True) and _in_try(node)
    return {function for function, protected in inside.items() if protected}


_ERROR_EVENT = re.compile(r"\.on\(\s*['\"`]error['\"`]")


def _handles_stream_errors(module: ScriptFacts, generation: Generation) -> bool:
    """A ``.stream(...)`` helper whose ``error`` event is listened to in its function: the helper reports
    the API's errors there instead of throwing."""
    if not generation.api.endswith(".stream") or not generation.function:
        return False
    return _ERROR_EVENT.search(text(module.functions[generation.function - 1])) is not None


def unhandled_api_errors(file: ScriptFile) -> Iterator[Hit]:
    """PG313 (JS/TS): a request made for a user outside any ``try``/``.catch`` (in its function or around
    every call of it), not a stream whose ``error`` event is handled, in a server with no error handler
    and no retry library."""
    module = facts(file)
    protected = _called_only_in_try(module)
    requests = [
        g
        for g in _requests(module)
        if not _in_try(g.node)
        and g.function not in protected
        and not _handles_stream_errors(module, g)
    ]
    if not requests or _has_error_handler(module) or _has_retry(module):
        return
    for generation in requests:
        yield hit_at(
            file, "PG313", generation.node, f"{generation.api} in a request path without error handling"
        )


def client_without_timeout(file: ScriptFile) -> Iterator[Hit]:
    """PG314 (JS/TS): a client built in server code without ``timeout`` (the SDK waits 10 minutes)."""
    module = facts(file)
    if not module.is_server:
        return
    for generation in module.generations:
        args = generation.node.child_by_field_name("arguments")
        second = args.named_children[1] if args is not None and len(args.named_children) > 1 else None
        if second is not None and module.options(second, generation.function).has("timeout"):
            return  # per-request timeouts
    for node, options, _function in module.client_constructions():
        callee = text(node.child_by_field_name("constructor") or node.child_by_field_name("function"))
        if options.complete and not options.has("timeout") and not callee.startswith("create"):
            yield hit_at(file, "PG314", node, "client without an explicit timeout in server code")


def unchecked_refusal(file: ScriptFile) -> Iterator[Hit]:
    """PG315 (JS/TS): a structured-output ``parse`` whose ``parsed`` value is read in a function that
    never looks at ``refusal``."""
    module = facts(file)
    for generation in module.generations:
        if not generation.api.endswith(".parse"):
            continue
        function = generation.function
        scope = {function, *(f for f, p in module.parent.items() if p == function)}
        reads = {text(m.child_by_field_name("property")) for m, f in module.members if f in scope}
        if reads & {"parsed", "output_parsed"} and "refusal" not in reads:
            yield hit_at(
                file, "PG315", generation.node, f"{generation.api} result used without checking refusal"
            )
