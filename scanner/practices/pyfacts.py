"""What one Python module's syntax says about its use of the OpenAI SDK: imports, client constructions,
generation calls, request handlers, simple bindings, and the function each call sits in.

Computed once per file (``facts``) and shared by every practice check, so ten rules cost one walk. The
analysis is deliberately shallow — names resolved through imports and single assignments, no type
inference — and every helper answers "unknown" rather than guess: the checks only report what they can
see.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache

from prodguard.scanner.practices.model import PythonFile

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef
Scope = ast.Module | ast.FunctionDef | ast.AsyncFunctionDef

CLIENT_CLASSES = frozenset({"OpenAI", "AsyncOpenAI", "AzureOpenAI", "AsyncAzureOpenAI"})
# Legacy (openai < 1.0) module-level generation APIs.
_LEGACY_GENERATION = {
    "openai.ChatCompletion.create": "chat.completions.create",
    "openai.ChatCompletion.acreate": "chat.completions.create",
    "openai.Completion.create": "completions.create",
    "openai.Completion.acreate": "completions.create",
}
_RESPONSE_WRAPPERS = frozenset({"with_raw_response", "with_streaming_response"})
# SDKs that copy the OpenAI call shape (``client.chat.completions.create``) but are not OpenAI.
_FOREIGN_SDKS = frozenset(
    {
        "anthropic", "together", "groq", "mistralai", "cohere", "fireworks", "cerebras", "ollama",
        "google", "vertexai", "boto3", "huggingface_hub", "zhipuai", "dashscope", "replicate", "litellm",
    }
)  # fmt: skip
_WEB_FRAMEWORKS = frozenset(
    {
        "fastapi", "flask", "django", "rest_framework", "starlette", "aiohttp", "quart", "sanic",
        "litestar", "tornado", "falcon", "bottle", "ninja", "chainlit", "streamlit", "gradio",
    }
)  # fmt: skip
# Whole-module user interfaces: every generation call in them answers a user.
_UI_FRAMEWORKS = frozenset({"streamlit", "gradio"})
_ROUTE_METHODS = frozenset(
    {"get", "post", "put", "patch", "delete", "route", "api_route", "websocket", "head", "options"}
)
_DJANGO_VIEW_DECORATORS = frozenset(
    {"api_view", "require_POST", "require_GET", "require_http_methods", "csrf_exempt", "require_safe"}
)
_REQUEST_TYPES = frozenset({"Request", "HttpRequest", "WSGIRequest", "ASGIRequest", "WebSocket"})
_RETRY_LIBRARIES = frozenset({"tenacity", "backoff", "retrying", "stamina", "retry", "retry2", "opnieuw"})
# Exceptions whose handling inside a loop makes that loop a retry loop for API calls.
_RETRYABLE_ERRORS = frozenset(
    {
        "RateLimitError", "APIConnectionError", "APITimeoutError", "APIError", "APIStatusError",
        "InternalServerError", "OpenAIError", "ServiceUnavailableError", "TryAgain", "Timeout",
    }
)  # fmt: skip


def dotted_name(node: ast.expr) -> str | None:
    """``a.b.c`` for a chain of names and attributes, else None."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def attribute_chain(node: ast.expr) -> tuple[list[str], ast.expr]:
    """The attribute names of ``x.a.b.c`` (``["a", "b", "c"]``) and the root expression ``x``."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    return list(reversed(parts)), node


def last_name(node: ast.expr) -> str:
    """The final name of a call target: ``retry`` for ``tenacity.retry`` or ``retry``."""
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Call):
        return last_name(node.func)
    return ""


def keyword(call: ast.Call, name: str) -> ast.keyword | None:
    for kw in call.keywords:
        if kw.arg == name:
            return kw
    return None


def has_unpacked_kwargs(call: ast.Call) -> bool:
    """``f(**options)``: keywords we cannot see, so a missing argument may well be there."""
    return any(kw.arg is None for kw in call.keywords)


@dataclass(frozen=True)
class Binding:
    """A name bound to a value: ``x = value``, ``for x in value`` or ``with value as x``."""

    value: ast.expr
    how: str  # "assign", "for" or "with"


@dataclass(frozen=True)
class GenerationCall:
    """A text-generation request (``chat.completions.create`` and its parse/stream twins,
    ``responses.create``, legacy ``completions.create``) and the function it is made in."""

    call: ast.Call
    api: str
    scope: Scope

    @property
    def resumes(self) -> bool:
        """``responses.stream(response_id=…)`` reattaches to a response created earlier: it generates
        nothing new, and its options were fixed by the request that created it."""
        return self.api == "responses.stream" and keyword(self.call, "response_id") is not None


@dataclass
class ModuleFacts:
    """Everything the checks ask about one module."""

    file: PythonFile
    aliases: dict[str, str] = field(default_factory=dict)  # local name -> qualified name
    imported_roots: set[str] = field(default_factory=set)  # top-level packages imported absolutely
    imported_names: set[str] = field(default_factory=set)  # every name an import binds or brings in
    calls: list[tuple[ast.Call, Scope]] = field(default_factory=list)
    assignments: list[tuple[ast.expr, ast.expr, Scope]] = field(default_factory=list)  # target, value, scope
    bindings: dict[int, dict[str, list[Binding]]] = field(default_factory=dict)  # id(scope) -> name -> …
    attribute_bindings: dict[str, list[ast.expr]] = field(default_factory=dict)  # "self.x" -> values
    functions: list[tuple[FunctionNode, ast.ClassDef | None, Scope]] = field(default_factory=list)
    loops_with_retry_handler: bool = False
    retry_decorator: bool = False
    _generation: list[GenerationCall] | None = None
    _client_calls: list[tuple[ast.Call, Scope]] | None = None
    _user_facing: set[int] | None = None

    # ---- names -------------------------------------------------------------------------------------

    def qualified(self, node: ast.expr) -> str | None:
        """The dotted name of ``node`` with its first part resolved through the module's imports."""
        name = dotted_name(node)
        if name is None:
            return None
        head, dot, rest = name.partition(".")
        if head in self.aliases:
            return self.aliases[head] + dot + rest
        return name

    @property
    def imports_openai(self) -> bool:
        return "openai" in self.imported_roots

    def is_openai_module(self, node: ast.expr) -> bool:
        return self.qualified(node) == "openai"

    def bindings_of(self, name: str, scope: Scope) -> list[Binding]:
        """Bindings of ``name`` visible from ``scope``: the function's own, else the module's."""
        local = self.bindings.get(id(scope), {}).get(name)
        if local:
            return local
        return self.bindings.get(id(self.file.tree), {}).get(name, [])

    def single_value(self, node: ast.expr, scope: Scope) -> ast.expr | None:
        """What a name or ``self.x`` attribute is assigned, when it is assigned exactly once."""
        if isinstance(node, ast.Name):
            found = self.bindings_of(node.id, scope)
            if len(found) == 1 and found[0].how == "assign":
                return found[0].value
            return None
        name = dotted_name(node) if isinstance(node, ast.Attribute) else None
        if name is not None:
            values = self.attribute_bindings.get(name, [])
            if len(values) == 1:
                return values[0]
        return None

    def constant(self, node: ast.expr, scope: Scope) -> ast.Constant | None:
        """The literal ``node`` is, or the literal its name was assigned once (``KEY = "…"``)."""
        if isinstance(node, ast.Constant):
            return node
        value = self.single_value(node, scope)
        return value if isinstance(value, ast.Constant) else None

    def resolve(self, node: ast.expr, scope: Scope) -> ast.expr:
        """``node`` itself, or the value of the name it is (one step, when assigned once)."""
        if isinstance(node, ast.Name | ast.Attribute):
            value = self.single_value(node, scope)
            if value is not None:
                return value
        return node

    # ---- the SDK -----------------------------------------------------------------------------------

    def is_client_class(self, func: ast.expr) -> bool:
        if last_name(func) not in CLIENT_CLASSES and not isinstance(func, ast.Name):
            return False  # cheap test first: most calls are not client constructions
        name = self.qualified(func)
        return name is not None and name.startswith("openai.") and name.rsplit(".", 1)[1] in CLIENT_CLASSES

    def client_constructions(self) -> list[tuple[ast.Call, Scope]]:
        return [
            (call, scope) for call, scope in self.client_option_calls() if self.is_client_class(call.func)
        ]

    def client_option_calls(self) -> list[tuple[ast.Call, Scope]]:
        """Client constructions and ``client.with_options(...)`` (same keyword options)."""
        if self._client_calls is None:
            self._client_calls = [
                (call, scope)
                for call, scope in self.calls
                if self.is_client_class(call.func)
                or (
                    self.imports_openai
                    and isinstance(call.func, ast.Attribute)
                    and call.func.attr == "with_options"
                )
            ]
        return self._client_calls

    def module_client_assignments(self, attrs: frozenset[str]) -> Iterator[tuple[str, ast.expr, Scope]]:
        """``openai.<attr> = value`` (the legacy module-level client): (attr, value, scope)."""
        for target, value, scope in self.assignments:
            if (
                isinstance(target, ast.Attribute)
                and target.attr in attrs
                and self.is_openai_module(target.value)
            ):
                yield target.attr, value, scope

    def generation_calls(self) -> list[GenerationCall]:
        if self._generation is None:
            self._generation = [
                GenerationCall(call, api, scope)
                for call, scope in self.calls
                if (api := self._generation_api(call, scope)) is not None
            ]
        return self._generation

    def _generation_api(self, call: ast.Call, scope: Scope) -> str | None:
        if not self.imports_openai or not isinstance(call.func, ast.Attribute):
            return None
        legacy = _LEGACY_GENERATION.get(self.qualified(call.func) or "")
        if legacy is not None:
            return legacy
        chain, root = attribute_chain(call.func)
        chain = [part for part in chain if part not in _RESPONSE_WRAPPERS]
        if len(chain) < 2:
            return None
        verb, resource = chain[-1], chain[-2]
        if resource == "completions" and len(chain) >= 3 and chain[-3] == "chat":
            api = f"chat.completions.{verb}" if verb in ("create", "parse", "stream") else None
        elif resource == "responses":
            api = f"responses.{verb}" if verb in ("create", "parse", "stream") else None
        elif resource == "completions":
            api = "completions.create" if verb == "create" else None
        else:
            api = None
        if api is None or self._is_foreign_client(root, scope):
            return None
        return api

    def _is_foreign_client(self, root: ast.expr, scope: Scope) -> bool:
        """True when the call's receiver was built by another vendor's SDK (``Together()``…)."""
        if isinstance(root, ast.Call):
            value: ast.expr | None = root
        else:
            value = self.single_value(root, scope)
        if not isinstance(value, ast.Call):
            return False
        name = self.qualified(value.func) or ""
        return name.split(".", 1)[0] in _FOREIGN_SDKS

    def has_retry_wrapper(self) -> bool:
        """A retry library imported, a retry decorator, a retry helper called, or a loop that catches
        rate-limit/API errors: something retries the calls even with the client's retries off."""
        if self.imported_roots & _RETRY_LIBRARIES or self.retry_decorator or self.loops_with_retry_handler:
            return True
        for call, _ in self.calls:
            if "retry" in last_name(call.func).lower() or keyword(call, "autoretry_for") is not None:
                return True
        return False

    def has_moderation(self) -> bool:
        """A moderation call (``moderations.create``, legacy ``Moderation.create``, or a helper whose name
        says it moderates) or an imported moderation helper anywhere in the module."""
        if any("moderat" in name.lower() for name in self.imported_names):
            return True
        for call, _ in self.calls:
            chain, _root = attribute_chain(call.func)
            if (
                chain[-2:] == ["moderations", "create"]
                or self.qualified(call.func) == "openai.Moderation.create"
            ):
                return True
            if "moderat" in last_name(call.func).lower():
                return True
        return False

    def uses_prodguard_guard(self) -> bool:
        return any(q == "prodguard.guard" or q.startswith("prodguard.guard.") for q in self.aliases.values())

    # ---- request handlers --------------------------------------------------------------------------

    @property
    def is_service_module(self) -> bool:
        """The module belongs to a web service or UI: it imports a web framework."""
        return bool(self.imported_roots & _WEB_FRAMEWORKS)

    def is_user_facing(self, scope: Scope) -> bool:
        """``scope`` is a request handler, or a function a handler of this module calls (transitively),
        or any code of a Streamlit/Gradio app."""
        if self._user_facing is None:
            self._user_facing = self._compute_user_facing()
        return id(scope) in self._user_facing

    def _compute_user_facing(self) -> set[int]:
        if self.imported_roots & _UI_FRAMEWORKS:
            return {id(self.file.tree), *(id(f) for f, _, _ in self.functions)}
        module_functions = {f.name: f for f, _, parent in self.functions if parent is self.file.tree}
        methods: dict[tuple[int, str], FunctionNode] = {
            (id(cls), f.name): f for f, cls, _ in self.functions if cls is not None
        }
        class_of = {id(f): cls for f, cls, _ in self.functions}
        callees: dict[int, list[FunctionNode]] = {}
        for call, scope in self.calls:
            if isinstance(scope, ast.Module):
                continue
            target: FunctionNode | None = None
            if isinstance(call.func, ast.Name):
                target = module_functions.get(call.func.id)
            elif (
                isinstance(call.func, ast.Attribute)
                and isinstance(call.func.value, ast.Name)
                and call.func.value.id in ("self", "cls")
                and (cls := class_of.get(id(scope))) is not None
            ):
                target = methods.get((id(cls), call.func.attr))
            if target is not None:
                callees.setdefault(id(scope), []).append(target)
        reached: set[int] = set()
        pending = [f for f, cls, _ in self.functions if self._is_handler(f, cls)]
        while pending:
            function = pending.pop()
            if id(function) in reached:
                continue
            reached.add(id(function))
            pending.extend(callees.get(id(function), ()))
        return reached

    def _is_handler(self, function: FunctionNode, cls: ast.ClassDef | None) -> bool:
        for decorator in function.decorator_list:
            if self._is_route_decorator(decorator):
                return True
        return self._has_request_parameter(function, cls)

    def _is_route_decorator(self, decorator: ast.expr) -> bool:
        name = last_name(decorator)
        if isinstance(decorator, ast.Call) and name in _ROUTE_METHODS and self.is_service_module:
            first = decorator.args[0] if decorator.args else None
            if first is None:
                path_kw = keyword(decorator, "path") or keyword(decorator, "rule")
                first = path_kw.value if path_kw is not None else None
            return (
                isinstance(first, ast.Constant)
                and isinstance(first.value, str)
                and first.value.startswith("/")
            )
        if name in _DJANGO_VIEW_DECORATORS and self.imported_roots & {"django", "rest_framework"}:
            return True
        return name in ("on_message", "on_chat_start") and "chainlit" in self.imported_roots

    def _has_request_parameter(self, function: FunctionNode, cls: ast.ClassDef | None) -> bool:
        arguments = [*function.args.posonlyargs, *function.args.args, *function.args.kwonlyargs]
        for arg in arguments:
            annotation = last_name(arg.annotation) if arg.annotation is not None else ""
            if annotation in _REQUEST_TYPES and self.is_service_module:
                return True
            if arg.arg == "request" and not annotation and self.imported_roots & {"django", "rest_framework"}:
                return True
        return False


class _Collector(ast.NodeVisitor):
    """One walk over the tree that fills a ``ModuleFacts``."""

    def __init__(self, facts: ModuleFacts) -> None:
        self.facts = facts
        self.scopes: list[Scope] = [facts.file.tree]
        self.classes: list[ast.ClassDef | None] = [None]
        self.loop_depth = 0

    def _bind(self, name: str, value: ast.expr, how: str) -> None:
        table = self.facts.bindings.setdefault(id(self.scopes[-1]), {})
        table.setdefault(name, []).append(Binding(value, how))

    def _bind_target(self, target: ast.expr, value: ast.expr, how: str) -> None:
        if isinstance(target, ast.Name):
            self._bind(target.id, value, how)
        elif isinstance(target, ast.Attribute) and how == "assign":
            name = dotted_name(target)
            if name is not None:
                self.facts.attribute_bindings.setdefault(name, []).append(value)
        elif isinstance(target, ast.Tuple | ast.List):
            for element in target.elts:  # unpacking: the value of each name is unknown
                if isinstance(element, ast.Name):
                    self._bind(element.id, ast.Constant(value=...), "unpack")
        if how == "assign":
            self.facts.assignments.append((target, value, self.scopes[-1]))

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            root = alias.name.split(".", 1)[0]
            self.facts.imported_roots.add(root)
            self.facts.imported_names.add(alias.asname or root)
            if alias.asname:
                self.facts.aliases[alias.asname] = alias.name
            else:
                self.facts.aliases[root] = root

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        for alias in node.names:
            self.facts.imported_names.add(alias.name)
        if node.level or not node.module:
            return  # relative imports never bring in a third-party SDK
        self.facts.imported_roots.add(node.module.split(".", 1)[0])
        for alias in node.names:
            if alias.name != "*":
                self.facts.aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"

    def _visit_function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for decorator in node.decorator_list:
            self.visit(decorator)
            if "retry" in last_name(decorator).lower() or last_name(decorator) == "on_exception":
                self.facts.retry_decorator = True
        for default in (*node.args.defaults, *node.args.kw_defaults):
            if default is not None:
                self.visit(default)
        self._bind(node.name, ast.Constant(value=...), "def")
        self.facts.functions.append((node, self.classes[-1], self.scopes[-1]))
        self.scopes.append(node)
        self.classes.append(self.classes[-1])
        outer_loops, self.loop_depth = self.loop_depth, 0
        for statement in node.body:
            self.visit(statement)
        self.loop_depth = outer_loops
        self.classes.pop()
        self.scopes.pop()

    visit_FunctionDef = _visit_function
    visit_AsyncFunctionDef = _visit_function

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for decorator in node.decorator_list:
            self.visit(decorator)
        for base in node.bases:
            self.visit(base)
        self.classes.append(node)
        for statement in node.body:
            self.visit(statement)
        self.classes.pop()

    def visit_Call(self, node: ast.Call) -> None:
        self.facts.calls.append((node, self.scopes[-1]))
        self.generic_visit(node)

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            self._bind_target(target, node.value, "assign")
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self._bind_target(node.target, node.value, "assign")
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        # x += … makes x's value unknown: a second binding disqualifies single-assignment lookups.
        self._bind_target(node.target, node.value, "augment")
        self.generic_visit(node)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self._bind_target(node.target, node.value, "assign")
        self.generic_visit(node)

    def _visit_loop(self, node: ast.For | ast.AsyncFor | ast.While) -> None:
        if isinstance(node, ast.For | ast.AsyncFor):
            self._bind_target(node.target, node.iter, "for")
        self.loop_depth += 1
        self.generic_visit(node)
        self.loop_depth -= 1

    visit_For = _visit_loop
    visit_AsyncFor = _visit_loop
    visit_While = _visit_loop

    def _visit_with(self, node: ast.With | ast.AsyncWith) -> None:
        for item in node.items:
            if item.optional_vars is not None:
                self._bind_target(item.optional_vars, item.context_expr, "with")
        self.generic_visit(node)

    visit_With = _visit_with
    visit_AsyncWith = _visit_with

    def visit_Try(self, node: ast.Try | ast.TryStar) -> None:
        if self.loop_depth:
            for handler in node.handlers:
                if handler.type is not None and _catches_retryable(handler.type):
                    self.facts.loops_with_retry_handler = True
        self.generic_visit(node)

    visit_TryStar = visit_Try


def _catches_retryable(node: ast.expr) -> bool:
    names = node.elts if isinstance(node, ast.Tuple) else [node]
    return any(last_name(name) in _RETRYABLE_ERRORS for name in names)


@lru_cache(maxsize=4)
def facts(file: PythonFile) -> ModuleFacts:
    """The facts of ``file``, computed on first use and shared by the checks that run on it."""
    result = ModuleFacts(file)
    _Collector(result).visit(file.tree)
    return result
