"""What one JavaScript/TypeScript file's syntax says about its use of OpenAI: imports, client
constructions, generation requests (the ``openai`` package, the Vercel AI SDK with the OpenAI provider,
LangChain's ``ChatOpenAI``, hand-written ``fetch``/``axios`` calls to the REST API), request handlers
(Express, Hono, Fastify, Koa routers, Next.js route handlers, API routes and server actions) and the
function each call sits in.

Like ``pyfacts``, deliberately shallow: names resolve through imports and ``const`` bindings, an options
object is known only when it is written out (a spread makes it unknown), and every helper answers
"unknown" rather than guess.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

from tree_sitter import Language, Node, Query, QueryCursor

from prodguard.scanner.practices import jsparse
from prodguard.scanner.practices.flow import Reach, reach
from prodguard.scanner.practices.model import ScriptFile

_FUNCTIONS = frozenset(
    {
        "function_declaration", "function_expression", "arrow_function", "method_definition",
        "generator_function_declaration", "generator_function", "function",
    }
)  # fmt: skip
_OPENAI_PACKAGES = frozenset({"openai", "@azure/openai"})
_CLIENT_CLASSES = frozenset({"OpenAI", "AzureOpenAI"})
_AI_SDK_PROVIDERS = frozenset({"@ai-sdk/openai", "@ai-sdk/azure"})
_AI_SDK_CALLS = frozenset({"generateText", "streamText", "generateObject", "streamObject"})
_LANGCHAIN_PACKAGES = frozenset(
    {"@langchain/openai", "langchain/chat_models/openai", "langchain/llms/openai"}
)
_LANGCHAIN_CLASSES = frozenset({"ChatOpenAI", "OpenAI", "AzureChatOpenAI", "AzureOpenAI"})
# SDKs whose clients copy the OpenAI call shape.
_FOREIGN_PACKAGES = frozenset(
    {
        "groq-sdk",
        "together-ai",
        "@anthropic-ai/sdk",
        "@mistralai/mistralai",
        "cohere-ai",
        "ollama",
        "@fireworks-ai/sdk",
    }
)
_SERVER_PACKAGES = frozenset(
    {"express", "hono", "fastify", "koa", "@koa/router", "koa-router", "next", "next/server", "@hono/node-server"}
)  # fmt: skip
_ROUTE_METHODS = frozenset({"get", "post", "put", "patch", "delete", "all", "options", "head"})
_NEXT_HANDLERS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})
_REQUEST_TYPES = frozenset({"Request", "NextRequest", "NextApiRequest", "Context", "FastifyRequest"})
_REST_PATHS = ("/v1/chat/completions", "/v1/responses", "/chat/completions")
_GENERATION_VERBS = frozenset({"create", "parse", "stream"})
_CONSTRUCTOR_NAMES = frozenset(
    {"OpenAI", "AzureOpenAI", "ChatOpenAI", "AzureChatOpenAI", "createOpenAI", "createAzure"}
)
PROGRAM = 0  # the function number of top-level code


def text(node: Node | None) -> str:
    return node.text.decode("utf-8", "replace") if node is not None and node.text is not None else ""


def string_value(node: Node | None) -> str | None:
    """The value of a string literal (or a template without substitutions), else ``None``."""
    if node is None:
        return None
    if node.type == "string":
        return "".join(
            text(c) for c in node.named_children if c.type in ("string_fragment", "escape_sequence")
        )
    if node.type == "template_string" and not any(c.type == "template_substitution" for c in node.children):
        return text(node)[1:-1]
    return None


def unwrap(node: Node | None) -> Node | None:
    """``await x``, ``(x)``, ``x as T``, ``x!`` and ``x satisfies T`` are ``x``."""
    while node is not None and node.type in (
        "await_expression", "parenthesized_expression", "as_expression", "non_null_expression",
        "satisfies_expression", "type_assertion",
    ):  # fmt: skip
        inner = [
            c for c in node.named_children if not c.type.endswith("type") and c.type != "type_identifier"
        ]
        node = inner[0] if inner else None
    return node


def _last_name(node: Node) -> str:
    """The called name: ``create`` for ``a.b.create``, ``OpenAI`` for ``OpenAI``."""
    if node.type == "member_expression":
        return text(node.child_by_field_name("property"))
    return text(node) if node.type == "identifier" else ""


def member_chain(node: Node | None) -> tuple[list[str], Node | None]:
    """``a.b.c`` -> (["b", "c"], a); calls in between (``x.withResponse()``) end the chain."""
    parts: list[str] = []
    while node is not None and node.type == "member_expression":
        prop = node.child_by_field_name("property")
        parts.append(text(prop))
        node = node.child_by_field_name("object")
    return list(reversed(parts)), node


@dataclass(frozen=True)
class Options:
    """The written-out keys of an object literal argument; ``complete`` is False when a spread (or a value
    we cannot see) may add more."""

    pairs: dict[str, Node | None]
    complete: bool
    node: Node | None = None

    def has(self, *names: str) -> bool:
        return any(name in self.pairs for name in names)

    def value(self, name: str) -> Node | None:
        return self.pairs.get(name)


UNKNOWN = Options({}, False)


@dataclass(frozen=True)
class Generation:
    """A text-generation request: ``api`` names its shape (``chat.completions.create``,
    ``responses.parse``, ``ai.generateText``, ``rest.chat.completions``, ``langchain.ChatOpenAI`` …)."""

    node: Node
    api: str
    options: Options
    function: int

    @property
    def is_legacy_completion(self) -> bool:
        return self.api == "completions.create"


@dataclass
class ScriptFacts:
    """Everything the JS/TS checks ask about one file."""

    file: ScriptFile
    imports: dict[str, tuple[str, str]] = field(
        default_factory=dict
    )  # local -> (package, name|"default"|"*")
    functions: list[Node] = field(default_factory=list)  # index + 1 is the function number
    parent: dict[int, int] = field(default_factory=dict)  # function -> enclosing function
    calls: list[tuple[Node, int]] = field(default_factory=list)  # call/new expressions and their function
    bindings: dict[tuple[int, str], list[Node | None]] = field(
        default_factory=dict
    )  # (function, name) -> values
    named_functions: dict[str, int] = field(default_factory=dict)  # module-level function names
    members: list[tuple[Node, int]] = field(
        default_factory=list
    )  # reads of the properties in _READ_PROPERTIES
    tries: list[tuple[Node, int]] = field(default_factory=list)  # try blocks and their function
    directives: set[str] = field(default_factory=set)  # "use server" / "use client"
    # (function, name) -> what a destructuring or for-of binding reads from: for taint, not for resolve().
    sources: dict[tuple[int, str], Node] = field(default_factory=dict)

    # ---- names -------------------------------------------------------------------------------------

    def imported(self, name: str) -> tuple[str, str] | None:
        return self.imports.get(name)

    def packages(self) -> set[str]:
        return {package for package, _ in self.imports.values()}

    @cached_property
    def uses_openai(self) -> bool:
        return bool(self.packages() & (_OPENAI_PACKAGES | _AI_SDK_PROVIDERS | _LANGCHAIN_PACKAGES))

    @cached_property
    def uses_foreign_sdk(self) -> bool:
        return bool(self.packages() & _FOREIGN_PACKAGES)

    @cached_property
    def is_server(self) -> bool:
        """The file belongs to a server: it imports a server framework, is a Next.js route or API file,
        or holds server actions."""
        path = self.file.path.replace("\\", "/")
        return (
            bool(self.packages() & _SERVER_PACKAGES)
            or "use server" in self.directives
            or "/pages/api/" in f"/{path}"
            or path.rsplit("/", 1)[-1].split(".", 1)[0] == "route"
        )

    def binding(self, name: str, function: int) -> Node | None:
        """The value ``name`` is bound to once (``const x = …``) in ``function`` or an enclosing one."""
        current: int | None = function
        while current is not None:
            values = self.bindings.get((current, name))
            if values is not None:
                return values[0] if len(values) == 1 else None
            current = self.parent.get(current) if current != PROGRAM else None
        return None

    def resolve(self, node: Node | None, function: int) -> Node | None:
        """``node``, or the value of the identifier it is (one step)."""
        node = unwrap(node)
        if node is not None and node.type == "identifier":
            value = self.binding(text(node), function)
            if value is not None:
                return unwrap(value)
        return node

    def options(self, node: Node | None, function: int) -> Options:
        """The keys of an object argument (through one ``const`` binding)."""
        value = self.resolve(node, function)
        if value is None or value.type != "object":
            return UNKNOWN
        pairs: dict[str, Node | None] = {}
        complete = True
        for child in value.named_children:
            if child.type == "pair":
                key = child.child_by_field_name("key")
                name = string_value(key) if key is not None and key.type == "string" else text(key)
                pairs[name or ""] = child.child_by_field_name("value")
            elif child.type == "shorthand_property_identifier":
                pairs[text(child)] = child
            elif child.type == "spread_element":
                complete = False
            elif child.type == "method_definition":
                pairs[text(child.child_by_field_name("name"))] = child
        return Options(pairs, complete, value)

    def qualified(self, node: Node | None) -> str | None:
        """``pkg:Name`` for an identifier imported by name, ``pkg:default`` for a default import, or
        ``pkg:*.Name`` for ``ns.Name`` on a namespace/default import."""
        node = unwrap(node)
        if node is None:
            return None
        if node.type == "identifier":
            found = self.imports.get(text(node))
            return f"{found[0]}:{found[1]}" if found else None
        if node.type == "member_expression":
            chain, root = member_chain(node)
            if root is not None and root.type == "identifier" and len(chain) == 1:
                found = self.imports.get(text(root))
                if found is not None:
                    return f"{found[0]}:*.{chain[0]}"
        return None

    # ---- the SDK -----------------------------------------------------------------------------------

    def is_openai_client_class(self, node: Node | None) -> bool:
        name = self.qualified(node)
        if name is None:
            return False
        package, _, what = name.partition(":")
        if package not in _OPENAI_PACKAGES:
            return False
        # ``import OpenAI from "openai"`` (default), ``{ OpenAI, AzureOpenAI }``, ``openai.OpenAI``.
        return what in ("default", "*") or what.removeprefix("*.") in _CLIENT_CLASSES

    def is_langchain_class(self, node: Node | None) -> bool:
        name = self.qualified(node) or ""
        package, _, what = name.partition(":")
        return package in _LANGCHAIN_PACKAGES and what.removeprefix("*.") in _LANGCHAIN_CLASSES

    def is_ai_sdk_provider(self, node: Node | None, function: int) -> bool:
        """``openai("gpt-4o")``, ``openai.chat(…)``, ``azure(…)`` or a provider from ``createOpenAI``."""
        value = self.resolve(node, function)
        if value is None or value.type != "call_expression":
            return False
        callee = value.child_by_field_name("function")
        if callee is not None and callee.type == "member_expression":
            callee = member_chain(callee)[1]
        if callee is None or callee.type != "identifier":
            return False
        found = self.imports.get(text(callee))
        if found is not None:
            return found[0] in _AI_SDK_PROVIDERS
        made = self.resolve(callee, function)
        if made is not None and made.type == "call_expression":
            maker = self.qualified(made.child_by_field_name("function")) or ""
            return maker.partition(":")[0] in _AI_SDK_PROVIDERS
        return False

    @cached_property
    def constructions(self) -> list[tuple[Node, Options, int]]:
        """``new OpenAI({...})``/``new AzureOpenAI``/``createOpenAI({...})`` and LangChain's
        ``new ChatOpenAI({...})``: (node, options, function)."""
        return list(self._constructions())

    def client_constructions(self) -> list[tuple[Node, Options, int]]:
        return self.constructions

    def _constructions(self) -> Iterator[tuple[Node, Options, int]]:
        for node, function in self.calls:
            is_new = node.type == "new_expression"
            callee = node.child_by_field_name("constructor" if is_new else "function")
            if callee is None or (
                _last_name(callee) not in _CONSTRUCTOR_NAMES and callee.type != "identifier"
            ):
                continue  # cheap test first: most calls construct nothing
            if is_new:
                found = self.is_openai_client_class(callee) or self.is_langchain_class(callee)
            else:
                name = self.qualified(callee) or ""
                found = name.partition(":")[0] in _AI_SDK_PROVIDERS and name.endswith(
                    ("createOpenAI", "createAzure")
                )
            if found:
                args = node.child_by_field_name("arguments")
                first = args.named_children[0] if args is not None and args.named_children else None
                options = self.options(first, function) if first is not None else Options({}, True)
                yield node, options, function

    @cached_property
    def generations(self) -> list[Generation]:
        found = []
        for node, function in self.calls:
            generation = self._generation(node, function)
            if generation is not None:
                found.append(generation)
        return found

    def _generation(self, node: Node, function: int) -> Generation | None:
        callee = node.child_by_field_name("constructor" if node.type == "new_expression" else "function")
        if callee is None or (
            callee.type != "identifier" and _last_name(callee) not in _GENERATION_VERBS | {"post"}
        ):
            return None  # cheap test first: most calls are not requests
        args = node.child_by_field_name("arguments")
        arguments = args.named_children if args is not None else []
        first = arguments[0] if arguments else None
        if node.type == "new_expression":
            callee = node.child_by_field_name("constructor")
            if self.is_langchain_class(callee):
                options = self.options(first, function) if first is not None else Options({}, True)
                return Generation(node, "langchain." + text(callee).rsplit(".", 1)[-1], options, function)
            return None
        callee = node.child_by_field_name("function")
        if callee is None:
            return None
        if callee.type == "identifier":
            name = self.qualified(callee) or ""
            package, _, what = name.partition(":")
            if package == "ai" and what in _AI_SDK_CALLS:
                options = self.options(first, function)
                model = options.value("model")
                if (
                    options.node is not None
                    and model is not None
                    and not self.is_ai_sdk_provider(model, function)
                ):
                    return None  # another provider's model
                return Generation(node, f"ai.{what}", options, function)
            if text(callee) == "fetch" and self._is_rest_url(first, function):
                init = self.options(arguments[1], function) if len(arguments) > 1 else UNKNOWN
                return Generation(node, "rest", self._json_body(init.value("body"), function), function)
            return None
        chain, root = member_chain(callee)
        if chain and chain[-1] == "post" and root is not None and text(root) in ("axios", "ky", "got"):
            if not self._is_rest_url(first, function):
                return None
            body = self.options(arguments[1], function) if len(arguments) > 1 else UNKNOWN
            return Generation(node, "rest", body, function)
        if len(chain) < 2 or chain[-1] not in _GENERATION_VERBS:
            return None
        resource = chain[-2]
        if resource == "completions" and len(chain) >= 3 and chain[-3] == "chat":
            api = f"chat.completions.{chain[-1]}"
        elif resource == "responses":
            api = f"responses.{chain[-1]}"
        elif resource == "completions" and chain[-1] == "create":
            api = "completions.create"
        else:
            return None
        if not self._openai_receiver(root, function):
            return None
        options = self.options(first, function) if first is not None else UNKNOWN
        return Generation(node, api, options, function)

    def _openai_receiver(self, root: Node | None, function: int) -> bool:
        """The receiver is (or may be) an OpenAI client: built from the ``openai`` package, or of unknown
        origin in a file that uses OpenAI and no look-alike SDK."""
        value = self.resolve(root, function)
        if value is not None and value.type == "new_expression":
            constructor = value.child_by_field_name("constructor")
            name = self.qualified(constructor)
            if name is not None:
                return name.partition(":")[0] in _OPENAI_PACKAGES
        return self.uses_openai and not self.uses_foreign_sdk

    def _is_rest_url(self, node: Node | None, function: int) -> bool:
        value = self.resolve(node, function)
        if value is None:
            return False
        # A template (`${BASE}/v1/chat/completions`) is read as written; the host may be in a constant.
        written = text(value) if value.type == "template_string" else string_value(value) or ""
        if not any(path in written for path in _REST_PATHS):
            return False
        return "openai" in written.lower() or b"api.openai.com" in self.file.data

    def _json_body(self, node: Node | None, function: int) -> Options:
        """``JSON.stringify({...})`` -> the object's keys."""
        value = self.resolve(node, function)
        if value is None or value.type != "call_expression":
            return UNKNOWN
        if text(value.child_by_field_name("function")) != "JSON.stringify":
            return UNKNOWN
        args = value.child_by_field_name("arguments")
        first = args.named_children[0] if args is not None and args.named_children else None
        return self.options(first, function)

    @cached_property
    def moderations(self) -> list[tuple[Node, int]]:
        return list(self._moderation_calls())

    def moderation_calls(self) -> list[tuple[Node, int]]:
        return self.moderations

    def _moderation_calls(self) -> Iterator[tuple[Node, int]]:
        for node, function in self.calls:
            callee = node.child_by_field_name("function") if node.type == "call_expression" else None
            if callee is None or _last_name(callee) != "create":
                continue
            chain, _root = member_chain(callee)
            if chain[-2:] == ["moderations", "create"]:
                yield node, function

    # ---- request handlers --------------------------------------------------------------------------

    def handlers(self) -> set[int]:
        """Functions that receive requests: route callbacks, Next.js handlers and server actions, and
        functions taking a typed request or reading ``req.body``/``request.json()``."""
        found: set[int] = set()
        path = self.file.path.replace("\\", "/")
        base = path.rsplit("/", 1)[-1].split(".", 1)[0]
        for number, node in enumerate(self.functions, start=1):
            if self._is_route_callback(node) or self._takes_request(node):
                found.add(number)
                continue
            exported = node.parent is not None and node.parent.type == "export_statement"
            if not exported and node.parent is not None and node.parent.type == "variable_declarator":
                declaration = node.parent.parent
                exported = (
                    declaration is not None
                    and declaration.parent is not None
                    and (declaration.parent.type == "export_statement")
                )
            if not exported:
                continue
            name = self._function_name(node)
            if (
                (base == "route" and name in _NEXT_HANDLERS)
                or (
                    "/pages/api/" in f"/{path}"
                    and node.parent is not None
                    and "default" in text(node.parent)[:20]
                )
                or "use server" in self.directives
            ):
                found.add(number)
        return found

    def _function_name(self, node: Node) -> str:
        name = node.child_by_field_name("name")
        if name is not None:
            return text(name)
        if node.parent is not None and node.parent.type == "variable_declarator":
            return text(node.parent.child_by_field_name("name"))
        return ""

    def _is_route_callback(self, node: Node) -> bool:
        arguments = node.parent
        if arguments is None or arguments.type != "arguments" or not self.is_server:
            return False
        call = arguments.parent
        if call is None or call.type != "call_expression":
            return False
        callee = call.child_by_field_name("function")
        if callee is None or callee.type != "member_expression":
            return False
        method = text(callee.child_by_field_name("property"))
        if method not in _ROUTE_METHODS:
            return False
        first = arguments.named_children[0] if arguments.named_children else None
        route = string_value(first)
        if route is not None:
            return route.startswith("/") or route == "*"
        # app.route("/x").post(handler)
        receiver = unwrap(callee.child_by_field_name("object"))
        if receiver is not None and receiver.type == "call_expression":
            inner = receiver.child_by_field_name("arguments")
            head = inner.named_children[0] if inner is not None and inner.named_children else None
            return (string_value(head) or "").startswith("/")
        return False

    def _takes_request(self, node: Node) -> bool:
        parameters = node.child_by_field_name("parameters") or node.child_by_field_name("parameter")
        if parameters is None:
            return False
        for parameter in [parameters] if parameters.type == "identifier" else parameters.named_children:
            annotation = parameter.child_by_field_name("type")
            if annotation is not None:
                written = text(annotation).lstrip(":").strip()
                if written.rsplit(".", 1)[-1].split("<", 1)[0] in _REQUEST_TYPES and self.is_server:
                    return True
        return False

    @cached_property
    def callees(self) -> dict[int, list[int]]:
        """Function -> the functions of this file it calls by name, the functions nested in it, and the
        functions it passes as arguments."""
        graph: dict[int, list[int]] = {}
        for child, parent in self.parent.items():
            graph.setdefault(parent, []).append(child)
        for node, function in self.calls:
            callee = node.child_by_field_name("function")
            if callee is not None and callee.type == "identifier":
                target = self.named_functions.get(text(callee))
                if target is not None:
                    graph.setdefault(function, []).append(target)
            args = node.child_by_field_name("arguments")
            for argument in args.named_children if args is not None else []:
                if argument.type == "identifier" and text(argument) in self.named_functions:
                    graph.setdefault(function, []).append(self.named_functions[text(argument)])
        return graph

    @cached_property
    def reach(self) -> Reach:
        moderating = {function for _node, function in self.moderation_calls()}
        return reach(self.handlers(), self.callees, moderating)

    def enclosing_functions(self, function: int) -> Iterator[int]:
        current: int | None = function
        while current is not None and current != PROGRAM:
            yield current
            current = self.parent.get(current)


# The nodes the checks look at, found by tree-sitter's query engine (in C): walking every node of a large
# file in Python cost ten times the parse.
_QUERY_TEXT = """
(function_declaration) @function
(function_expression) @function
(arrow_function) @function
(method_definition) @function
(generator_function_declaration) @function
(generator_function) @function
(call_expression function: (identifier)) @call
(call_expression function: (member_expression property: (property_identifier) @method (#match? @method "METHODS"))) @call
(new_expression) @call
(try_statement) @try
(import_statement) @import
(variable_declarator) @declare
(for_in_statement) @loop
(assignment_expression left: (identifier) @assigned)
(member_expression property: (property_identifier) @read (#any-of? @read READS))
"""
_READ_PROPERTIES = (
    "parsed", "output_parsed", "refusal", "flagged", "categories", "category_scores", "categoryScores"
)  # fmt: skip


# Method calls the checks look at (others are left out of ``ScriptFacts.calls``): SDK verbs, HTTP posts,
# LangChain's retrying caller, loggers, error hooks and anything named like a retry.
_CALLED_METHODS = (
    "^(create|parse|stream|post|call|callWithOptions|log|info|debug|warn|error|trace|onError|setErrorHandler)$"
    "|[Rr]etry"
)


@lru_cache(maxsize=3)
def _query(language: Language) -> Query:
    reads = " ".join(f'"{name}"' for name in _READ_PROPERTIES)
    return Query(language, _QUERY_TEXT.replace("READS", reads).replace("METHODS", _CALLED_METHODS))


def _collect(facts: ScriptFacts) -> None:
    root = facts.file.root
    for child in root.named_children:
        if child.type == "expression_statement":
            directive = string_value(child.named_children[0] if child.named_children else None)
            if directive in ("use server", "use client"):
                facts.directives.add(directive)
        elif child.type != "comment":
            break
    grammar = jsparse.grammar(facts.file.language, tsx=facts.file.path.lower().endswith(".tsx"))
    captures = QueryCursor(_query(grammar)).captures(root)
    functions = sorted(captures.get("function", []), key=lambda n: (n.start_byte, -n.end_byte))
    facts.functions = functions
    kinds = ("call", "read", "try", "declare", "loop", "assigned")
    nodes = [(kind, node) for kind in kinds for node in captures.get(kind, [])]
    enclosing = _enclosing_functions(functions, [node for _kind, node in nodes])
    for number, node in enumerate(functions, start=1):
        parent = enclosing[node.id]
        facts.parent[number] = parent
        name = facts._function_name(node)
        if name and (parent == PROGRAM or node.type == "function_declaration"):
            facts.named_functions.setdefault(name, number)
    for node in captures.get("import", []):
        _import(facts, node)
    for kind, node in nodes:
        function = enclosing[node.id]
        if kind == "call":
            facts.calls.append((node, function))
        elif kind == "read" and node.parent is not None:
            facts.members.append((node.parent, function))
        elif kind == "try":
            facts.tries.append((node, function))
        elif kind == "declare":
            _declare(facts, node, function)
        elif kind == "loop":
            left, right = node.child_by_field_name("left"), node.child_by_field_name("right")
            if left is not None and left.type == "identifier" and right is not None:
                facts.sources[(function, text(left))] = right
        else:
            facts.bindings.setdefault((function, text(node)), []).extend([None, None])
    facts.calls.sort(key=lambda pair: pair[0].start_byte)


def _enclosing_functions(functions: list[Node], nodes: list[Node]) -> dict[int, int]:
    """node id -> number of the innermost function around it (``PROGRAM`` for top-level code), for the
    functions themselves too, by one sweep over byte ranges (walking up ``parent`` per node is slow)."""
    events = [(f.start_byte, -f.end_byte, 1, number, f) for number, f in enumerate(functions, start=1)]
    events += [(n.start_byte, -n.end_byte, 0, 0, n) for n in nodes]
    events.sort(key=lambda event: event[:3])
    result: dict[int, int] = {}
    stack: list[tuple[int, int]] = []  # (end byte, number) of the functions open at this point
    for start, negative_end, is_function, number, node in events:
        while stack and stack[-1][0] <= start:
            stack.pop()
        end = -negative_end
        result[node.id] = stack[-1][1] if stack else PROGRAM
        if is_function:
            stack.append((end, number))
    return result


def _import(facts: ScriptFacts, node: Node) -> None:
    source = string_value(node.child_by_field_name("source"))
    if source is None:
        return
    for clause in node.named_children:
        if clause.type != "import_clause":
            continue
        for part in clause.named_children:
            if part.type == "identifier":
                facts.imports[text(part)] = (source, "default")
            elif part.type == "namespace_import":
                for name in part.named_children:
                    facts.imports[text(name)] = (source, "*")
            elif part.type == "named_imports":
                for spec in part.named_children:
                    if spec.type != "import_specifier":
                        continue
                    imported = text(spec.child_by_field_name("name"))
                    alias = spec.child_by_field_name("alias")
                    facts.imports[text(alias) if alias is not None else imported] = (source, imported)


def _declare(facts: ScriptFacts, node: Node, function: int) -> None:
    name = node.child_by_field_name("name")
    value = node.child_by_field_name("value")
    plain = unwrap(value)
    # require("openai") and const { OpenAI } = require("openai")
    if (
        plain is not None
        and plain.type == "call_expression"
        and text(plain.child_by_field_name("function")) == "require"
    ):
        args = plain.child_by_field_name("arguments")
        source = string_value(args.named_children[0]) if args is not None and args.named_children else None
        if source is not None and name is not None:
            if name.type == "identifier":
                facts.imports[text(name)] = (source, "default")
            elif name.type == "object_pattern":
                for part in name.named_children:
                    if part.type == "shorthand_property_identifier_pattern":
                        facts.imports[text(part)] = (source, text(part))
                    elif part.type == "pair_pattern":
                        key = part.child_by_field_name("key")
                        local = part.child_by_field_name("value")
                        facts.imports[text(local)] = (source, text(key))
            return
    if name is not None and name.type == "identifier":
        facts.bindings.setdefault((function, text(name)), []).append(value)
        kind = node.parent.child_by_field_name("kind") if node.parent is not None else None
        const = kind is not None and kind.type == "const"
        if not const:
            facts.bindings[(function, text(name))].append(None)  # let/var: may be reassigned
    elif name is not None:
        for part in name.named_children:  # destructuring: values unknown, but where they come from is
            if part.type == "pair_pattern":  # { data: customModel }
                part = part.child_by_field_name("value") or part
            if part.type in ("shorthand_property_identifier_pattern", "identifier"):
                facts.bindings.setdefault((function, text(part)), []).extend([None, None])
                if value is not None:
                    facts.sources[(function, text(part))] = value


@lru_cache(maxsize=4)
def facts(file: ScriptFile) -> ScriptFacts:
    """The facts of ``file``, computed on first use and shared by the checks that run on it."""
    result = ScriptFacts(file)
    _collect(result)
    return result
