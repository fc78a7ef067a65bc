"""JavaScript/TypeScript twins of two client checks of ``client_checks``: TLS verification turned off for
the OpenAI client (PG304) and an OpenAI client that names no organization or project (PG207). They
decide as the Python checks do; only the SDK's spelling differs (``httpAgent``/``fetchOptions`` instead of
``http_client``, ``rejectUnauthorized: false`` instead of ``verify=False``).
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

from tree_sitter import Language, Node, Query, QueryCursor

from prodguard.scanner.practices import jsparse
from prodguard.scanner.practices.client_checks import is_literal_key
from prodguard.scanner.practices.js_checks import hit_at, takes_visitor_key
from prodguard.scanner.practices.jsfacts import (
    Options,
    ScriptFacts,
    facts,
    member_chain,
    string_value,
    text,
    unwrap,
)
from prodguard.scanner.practices.model import Hit, ScriptFile

# Where a TLS agent reaches the client: ``httpAgent`` (openai v4, LangChain's ``configuration``) and the
# ``fetchOptions`` given to ``fetch`` (undici's ``dispatcher``, node-fetch's ``agent``; openai v5+).
_AGENT_OPTIONS = ("httpAgent",)
_FETCH_AGENT_OPTIONS = ("dispatcher", "agent")
# Options objects of agents that carry TLS settings: Node's ``https.Agent`` takes them at the top level,
# undici's ``Agent`` under ``connect``, its ``ProxyAgent`` under ``requestTls``/``proxyTls``.
_TLS_OPTION_OBJECTS = ("connect", "requestTls", "proxyTls", "tls")
_TLS_ENV = "NODE_TLS_REJECT_UNAUTHORIZED"
_ORG_HEADERS = frozenset({"openai-organization", "openai-project"})
# Any of these names where the client's requests go or whom they bill: not the default organization.
_ORG_OPTIONS = ("organization", "project", "provider", "dataResidency")


def _is_false(module: ScriptFacts, node: Node | None, function: int) -> bool:
    if node is not None and node.type == "shorthand_property_identifier":  # { rejectUnauthorized }
        node = module.binding(text(node), function)
    value = module.resolve(node, function)
    return value is not None and value.type == "false"


def _reject_unauthorized_off(
    module: ScriptFacts, options: Options, function: int, depth: int = 0
) -> Node | None:
    """The ``rejectUnauthorized: false`` pair of an agent's options, at the top or in a TLS sub-object."""
    value = options.value("rejectUnauthorized")
    if _is_false(module, value, function):
        return value.parent if value is not None and value.parent is not None else value
    if depth > 0:
        return None
    for name in _TLS_OPTION_OBJECTS:
        inner = options.value(name)
        if inner is not None:
            found = _reject_unauthorized_off(module, module.options(inner, function), function, depth + 1)
            if found is not None:
                return found
    return None


def _unverified_agent(module: ScriptFacts, node: Node | None, function: int) -> Node | None:
    """The ``rejectUnauthorized: false`` of ``node`` when it is (or names) an agent or dispatcher built with
    verification off: ``new https.Agent({...})``, undici's ``new Agent({ connect: {...} })``,
    ``new HttpsProxyAgent(url, {...})``."""
    value = module.resolve(node, function)
    if value is None or value.type != "new_expression":
        return None
    constructor = value.child_by_field_name("constructor")
    if constructor is None or not text(constructor).rsplit(".", 1)[-1].endswith(("Agent", "Dispatcher")):
        return None
    args = value.child_by_field_name("arguments")
    for argument in args.named_children if args is not None else []:
        found = _reject_unauthorized_off(module, module.options(argument, function), function)
        if found is not None:
            return found
    return None


def _client_agents(module: ScriptFacts, options: Options, function: int) -> Iterator[Node]:
    """What the client hands its connections to: ``httpAgent`` and ``fetchOptions.dispatcher``/``agent``,
    also inside LangChain's ``configuration``."""
    levels = [options]
    configuration = options.value("configuration")
    if configuration is not None:
        levels.append(module.options(configuration, function))
    for level in levels:
        for name in _AGENT_OPTIONS:
            agent = level.value(name)
            if agent is not None:
                yield agent
        fetch_options = level.value("fetchOptions")
        if fetch_options is not None:
            inner = module.options(fetch_options, function)
            for name in _FETCH_AGENT_OPTIONS:
                agent = inner.value(name)
                if agent is not None:
                    yield agent


_ENV_QUERY = """
(assignment_expression left: [(member_expression) (subscript_expression)] @target) @assignment
"""


@lru_cache(maxsize=3)
def _env_query(grammar: Language) -> Query:
    return Query(grammar, _ENV_QUERY)


def _process_wide(file: ScriptFile, module: ScriptFacts) -> Iterator[Node]:
    """Verification turned off for the whole process, the OpenAI client included:
    ``process.env.NODE_TLS_REJECT_UNAUTHORIZED = "0"`` and undici's ``setGlobalDispatcher(new Agent({
    connect: { rejectUnauthorized: false } }))``."""
    if _TLS_ENV.encode() in file.data:
        grammar = jsparse.grammar(file.language, tsx=file.path.lower().endswith(".tsx"))
        captures = QueryCursor(_env_query(grammar)).captures(file.root)
        for target in captures.get("target", []):
            assignment = target.parent
            if assignment is None or not _names_tls_env(target):
                continue
            value = unwrap(assignment.child_by_field_name("right"))
            written = string_value(value) if value is not None else None
            if written == "0" or (value is not None and value.type == "number" and text(value) == "0"):
                yield assignment
    for node, function in module.calls:
        callee = node.child_by_field_name("function")
        if (
            node.type != "call_expression"
            or callee is None
            or not text(callee).endswith("setGlobalDispatcher")
        ):
            continue
        args = node.child_by_field_name("arguments")
        first = args.named_children[0] if args is not None and args.named_children else None
        found = _unverified_agent(module, first, function)
        if found is not None:
            yield found


def _names_tls_env(target: Node) -> bool:
    """``process.env.NODE_TLS_REJECT_UNAUTHORIZED`` or ``process.env["NODE_TLS_REJECT_UNAUTHORIZED"]``."""
    if target.type == "member_expression":
        chain, root = member_chain(target)
        return chain[-2:] == ["env", _TLS_ENV] and text(root) == "process"
    index = target.child_by_field_name("index")
    return string_value(index) == _TLS_ENV and text(target.child_by_field_name("object")) == "process.env"


def tls_verification_disabled(file: ScriptFile) -> Iterator[Hit]:
    """PG304 (JS/TS): the client's ``httpAgent`` or ``fetchOptions.dispatcher``/``agent`` is an agent built
    with ``rejectUnauthorized: false``; or, in a file that uses OpenAI, verification is turned off for the
    whole process (``NODE_TLS_REJECT_UNAUTHORIZED = "0"``, an unverified global dispatcher)."""
    module = facts(file)
    seen: set[int] = set()
    found: list[Node] = []
    for _node, options, function in module.client_constructions():
        for agent in _client_agents(module, options, function):
            pair = _unverified_agent(module, agent, function)
            if pair is not None:
                found.append(pair)
    if module.uses_openai:
        found += _process_wide(file, module)
    for node in found:
        if node.id not in seen:
            seen.add(node.id)
            yield hit_at(file, "PG304", node, "TLS certificate verification disabled")


def client_without_organization(file: ScriptFile) -> Iterator[Hit]:
    """PG207 (JS/TS): ``new OpenAI({...})`` with neither ``organization`` nor ``project`` (nor ``provider``,
    ``dataResidency`` or an ``OpenAI-Organization`` default header), talking to the OpenAI API. Left alone,
    as in Python: Azure clients, options with a spread or built elsewhere, clients pointed elsewhere by
    ``baseURL``, clients with a stand-in literal key or a mock ``fetch``, and clients built in a request
    path from the visitor's own key. Whether a hit matters is the environment analyzer's decision."""
    module = facts(file)
    for node, options, function in module.client_constructions():
        if node.type != "new_expression" or not module.is_openai_client_class(
            node.child_by_field_name("constructor")
        ):
            continue  # LangChain and the AI SDK wrap the client; Python's check reads the SDK's own too
        name = module.qualified(node.child_by_field_name("constructor")) or ""
        if "Azure" in name or not options.complete or options.has(*_ORG_OPTIONS):
            continue
        if _has_stand_in_key(module, options, function) or "mock" in text(options.value("fetch")).lower():
            continue
        if takes_visitor_key(module, options, function):
            continue  # the visitor's own key: their organization is theirs to choose
        if _sets_org_header(module, options, function) or not _talks_to_openai(module, options, function):
            continue
        yield hit_at(file, "PG207", node, "client without organization/project")


def _has_stand_in_key(module: ScriptFacts, options: Options, function: int) -> bool:
    value = module.resolve(options.value("apiKey"), function)
    key = string_value(value) if value is not None else None
    return key is not None and not is_literal_key(key)


def _sets_org_header(module: ScriptFacts, options: Options, function: int) -> bool:
    if not options.has("defaultHeaders"):
        return False
    headers = module.options(options.value("defaultHeaders"), function)
    if not headers.complete:
        return True  # headers built elsewhere may well carry the organization
    return any(key.lower() in _ORG_HEADERS for key in headers.pairs)


def _talks_to_openai(module: ScriptFacts, options: Options, function: int) -> bool:
    """No endpoint given, or one written out that is the OpenAI API."""
    for name in ("baseURL", "websocketBaseURL"):
        if options.has(name):
            value = module.resolve(options.value(name), function)
            url = string_value(value) if value is not None else None
            if url is None or "api.openai.com" not in url:
                return False
    return True
