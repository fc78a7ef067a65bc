"""What one Python module's syntax says about its use of the OpenAI SDK: imports, client constructions,
generation calls, request handlers, simple bindings, and the function each call sits in.

Computed once per file (``facts``) and shared by every practice check, so ten rules cost one walk. The
analysis is deliberately shallow — names resolved through imports and single assignments, no type
inference — and every helper answers "unknown" rather than guess: the checks only report what they can
see.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any, ClassVar

from prodguard.scanner.practices.flow import Reach, reach
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
_RESPONSE_WRAPPERS = frozenset({"with_raw_response", "with_streaming_response", "beta"})
_REST_PATHS = ("/chat/completions", "/v1/responses")
# LangChain and LlamaIndex model wrappers around the OpenAI API (their constructors take the cap).
_WRAPPER_CLASSES = frozenset({"ChatOpenAI", "AzureChatOpenAI", "OpenAI", "AzureOpenAI"})
_WRAPPER_PACKAGES = frozenset({"langchain_openai", "langchain", "langchain_community", "llama_index"})
# The last name of every method call ``_generation_api`` can accept (most calls of a module are none of
# these, and are dismissed before their names are resolved): the SDK's verbs (a response wrapper may come
# last), a REST ``post``, the Agents SDK's runs and the model wrappers' classes.
_GENERATION_ATTRS = (
    frozenset({"create", "acreate", "parse", "stream", "post", "run", "run_sync", "run_streamed"})
    | _RESPONSE_WRAPPERS
    | _WRAPPER_CLASSES
)
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
# ``job.delay(…)`` (Celery), ``job.send(…)`` (Dramatiq), ``job.kiq(…)`` (Taskiq): the job runs later, for
# the request that enqueued it.
_ENQUEUE_METHODS = frozenset({"delay", "apply_async", "send", "kiq", "enqueue"})
# Web frameworks with a module-global request object.
_GLOBAL_REQUESTS = frozenset({"flask.request", "quart.request", "bottle.request"})
_REQUEST_TYPES = frozenset({"Request", "HttpRequest", "WSGIRequest", "ASGIRequest", "WebSocket"})
# Framework hooks that turn any exception of a request into a response of the application's choosing.
_ERROR_HANDLER_HOOKS = frozenset(
    {
        "exception_handler",
        "add_exception_handler",
        "errorhandler",
        "register_error_handler",
        "app_errorhandler",
    }
)
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
    """A text-generation request and the function it is made in. ``api`` names its shape:
    ``chat.completions.create`` (and ``parse``/``stream``), ``responses.*``, legacy ``completions.create``,
    ``rest`` (a hand-written HTTP call to the REST API), ``agents.Agent`` (an Agents SDK agent: its
    ``model_settings`` hold the cap), ``agents.Runner.run`` (where the agent's requests are made) and
    ``langchain.<Class>`` (a LangChain/LlamaIndex model wrapper: its constructor holds the cap).
    ``options`` are the request's parameters by name, ``None`` when some cannot be seen (``**options``
    that do not resolve to a dict literal)."""

    call: ast.Call
    api: str
    scope: Scope
    options: dict[str, ast.expr] | None = None

    @property
    def resumes(self) -> bool:
        """``responses.stream(response_id=…)`` reattaches to a response created earlier: it generates
        nothing new, and its options were fixed by the request that created it."""
        return self.api == "responses.stream" and keyword(self.call, "response_id") is not None

    @property
    def is_request(self) -> bool:
        """A call that sends a request now (not a wrapper or agent definition)."""
        return not self.api.startswith(("langchain.", "agents.Agent"))

    @property
    def is_legacy_completion(self) -> bool:
        return self.api == "completions.create"

    def option(self, name: str) -> ast.expr | None:
        return self.options.get(name) if self.options is not None else None


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
    calls_in_try: set[int] = field(default_factory=set)  # id(call) of calls in a try body with handlers
    discarded: set[int] = field(default_factory=set)  # id(call) of calls whose result is thrown away
    attribute_reads: dict[int, set[str]] = field(default_factory=dict)  # id(scope) -> attribute names read
    scope_of_function: dict[int, Scope] = field(default_factory=dict)  # id(function) -> enclosing scope
    error_handlers: bool = False  # a framework-level exception handler is registered
    mutated_names: dict[int, set[str]] = field(default_factory=dict)  # id(scope) -> dicts changed later
    _generation: list[GenerationCall] | None = None
    _client_calls: list[tuple[ast.Call, Scope]] | None = None

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
            found = []
            for call, scope in self.calls:
                api = self._generation_api(call, scope)
                if api is not None:
                    found.append(GenerationCall(call, api, scope, self._options(call, api, scope)))
            self._generation = found
        return self._generation

    def _options(self, call: ast.Call, api: str, scope: Scope) -> dict[str, ast.expr] | None:
        """The request parameters by name; ``**name`` is followed to a dict literal assigned once."""
        if api == "rest":
            payload = keyword(call, "json")
            if payload is None:
                data = keyword(call, "data") or keyword(call, "content")
                value = self.resolve(data.value, scope) if data is not None else None
                if isinstance(value, ast.Call) and last_name(value.func) == "dumps" and value.args:
                    return self._dict_items(value.args[0], scope)
                return None
            return self._dict_items(payload.value, scope)
        options: dict[str, ast.expr] = {}
        for kw in call.keywords:
            if kw.arg is not None:
                options[kw.arg] = kw.value
                continue
            unpacked = self._dict_items(kw.value, scope)
            if unpacked is None:
                return None
            options.update(unpacked)
        return options

    def _dict_items(self, node: ast.expr, scope: Scope) -> dict[str, ast.expr] | None:
        value = self.resolve(node, scope)
        if isinstance(value, ast.Call) and self.qualified(value.func) == "dict" and not value.args:
            if any(kw.arg is None for kw in value.keywords):
                return None
            return {kw.arg: kw.value for kw in value.keywords if kw.arg is not None}
        if not isinstance(value, ast.Dict):
            return None
        if isinstance(node, ast.Name) and node.id in self.mutated_names.get(id(scope), set()):
            return None  # items added later (``params["max_tokens"] = …``, ``params.update(…)``)
        items: dict[str, ast.expr] = {}
        for key, item in zip(value.keys, value.values, strict=True):
            if key is None:
                nested = self._dict_items(item, scope)
                if nested is None:
                    return None
                items.update(nested)
            elif isinstance(key, ast.Constant) and isinstance(key.value, str):
                items[key.value] = item
            else:
                return None
        return items

    def _generation_api(self, call: ast.Call, scope: Scope) -> str | None:
        func = call.func
        if isinstance(func, ast.Name):
            qualified = self.qualified(func) or ""
            if qualified.startswith("agents.") or qualified == "openai_agents.Agent":
                return "agents.Agent" if qualified.endswith(".Agent") else None
            if (
                qualified.rsplit(".", 1)[-1] in _WRAPPER_CLASSES
                and qualified.split(".", 1)[0] in _WRAPPER_PACKAGES
            ):
                return "langchain." + qualified.rsplit(".", 1)[-1]
            # ``create = client.chat.completions.create`` … ``create(**kwargs)``
            bound = self.single_value(func, scope)
            if isinstance(bound, ast.Attribute):
                return self._sdk_api(bound, scope)
            return None
        if not isinstance(func, ast.Attribute) or func.attr not in _GENERATION_ATTRS:
            return None
        qualified = self.qualified(func) or ""
        if qualified.startswith("agents.Runner.") and func.attr in ("run", "run_sync", "run_streamed"):
            return "agents.Runner.run"
        if (
            qualified.rsplit(".", 1)[-1] in _WRAPPER_CLASSES
            and qualified.split(".", 1)[0] in _WRAPPER_PACKAGES
        ):
            return "langchain." + func.attr
        if func.attr == "post" and self._is_rest_url(call, scope):
            return "rest"
        return self._sdk_api(func, scope)

    def _is_rest_url(self, call: ast.Call, scope: Scope) -> bool:
        """The call posts to the OpenAI REST API's generation endpoints."""
        url = call.args[0] if call.args else (kw.value if (kw := keyword(call, "url")) is not None else None)
        if url is None:
            return False
        value = self.resolve(url, scope)
        parts = [value] if not isinstance(value, ast.JoinedStr | ast.BinOp) else list(ast.walk(value))
        written = "".join(n.value for n in parts if isinstance(n, ast.Constant) and isinstance(n.value, str))
        if not any(path in written for path in _REST_PATHS):
            return False
        return "openai" in written or self.imports_openai or "api.openai.com" in self.file.source

    def _sdk_api(self, func: ast.Attribute, scope: Scope) -> str | None:
        legacy = _LEGACY_GENERATION.get(self.qualified(func) or "")
        if legacy is not None:
            return legacy if self.imports_openai else None
        chain, root = attribute_chain(func)
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
        if not self.imports_openai and (self.imported_roots & _FOREIGN_SDKS or len(chain) < 3):
            # A client from elsewhere (a parameter, a factory in another module): the full OpenAI shape
            # (``x.chat.completions.create``/``x.client.responses.create``) in a file with no look-alike SDK.
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

    @cached_property
    def visitor_supplies_key(self) -> bool:
        """A Streamlit/Gradio/Chainlit app whose client takes the API key the visitor types in
        (``api_key=st.text_input(...)``, a key from ``st.session_state``, or a Gradio handler's parameter)."""
        if not self.imported_roots & (_UI_FRAMEWORKS | {"chainlit"}):
            return False
        for call, scope in self.calls:
            kw = keyword(call, "api_key") or keyword(call, "openai_api_key")
            if kw is None:
                continue
            value = self.resolve(kw.value, scope)
            if isinstance(value, ast.Call) and last_name(value.func) in ("text_input", "Textbox", "get"):
                return True
            if "session_state" in (dotted_name(value) or "") or (
                isinstance(value, ast.Subscript) and "session_state" in (dotted_name(value.value) or "")
            ):
                return True
            if (
                isinstance(kw.value, ast.Name)
                and not isinstance(scope, ast.Module)
                and kw.value.id in {a.arg for a in (*scope.args.args, *scope.args.kwonlyargs)}
            ):
                return True
        return False

    def names_read_in(self, scope: Scope) -> set[str]:
        """Attribute names and string subscript keys read in ``scope`` or the functions nested in it."""
        read = set(self.attribute_reads.get(id(scope), set()))
        for function, _cls, parent in self.functions:
            if parent is scope:
                read |= self.attribute_reads.get(id(function), set())
        return read

    def functions_called_only_in_try(self) -> set[int]:
        """ids of module functions every call of which (by name or ``self.name``) sits in a ``try``."""
        by_name = {f.name: f for f, _, _ in self.functions}
        inside: dict[int, bool] = {}
        for call, _scope in self.calls:
            name = (
                call.func.id
                if isinstance(call.func, ast.Name)
                else (
                    call.func.attr
                    if isinstance(call.func, ast.Attribute)
                    and isinstance(call.func.value, ast.Name)
                    and call.func.value.id in ("self", "cls")
                    else None
                )
            )
            function = by_name.get(name) if name else None
            if function is not None:
                inside[id(function)] = inside.get(id(function), True) and id(call) in self.calls_in_try
        return {function for function, protected in inside.items() if protected}

    def is_handler(self, scope: Scope) -> bool:
        """``scope`` is a request handler itself (not only reached from one)."""
        for function, cls, _parent in self.functions:
            if function is scope:
                return self._is_handler(function, cls)
        return False

    def uses_prodguard_guard(self) -> bool:
        return any(q == "prodguard.guard" or q.startswith("prodguard.guard.") for q in self.aliases.values())

    # ---- request handlers --------------------------------------------------------------------------

    @property
    def is_service_module(self) -> bool:
        """The module belongs to a web service or UI: it imports a web framework."""
        return bool(self.imported_roots & _WEB_FRAMEWORKS)

    def is_user_facing(self, scope: Scope) -> bool:
        """``scope`` answers a user: a request handler (route decorator, Django view, a function taking a
        ``Request`` or reading Flask's/Quart's global ``request``), what a handler reaches in this module
        (functions it calls, functions nested in it such as a streaming generator, background jobs it
        enqueues), or any code of a Streamlit/Gradio app (the script runs for each visitor)."""
        return self.user_reach.is_user_facing(id(scope))

    def is_moderated(self, scope: Scope) -> bool:
        """Every path from a handler to ``scope`` passes a function that moderates (see ``flow``)."""
        return self.user_reach.is_moderated(id(scope))

    @cached_property
    def user_reach(self) -> Reach:
        callees, moderating = self._callees(), self._moderating_scopes()
        if self.imported_roots & _UI_FRAMEWORKS:
            # The script itself runs per visitor; functions it never reaches are callbacks of widgets.
            from_script = reach([id(self.file.tree)], callees, moderating)
            others = [id(f) for f, _, _ in self.functions if not from_script.is_user_facing(id(f))]
            return reach([id(self.file.tree), *others], callees, moderating)
        handlers = [id(f) for f, cls, _ in self.functions if self._is_handler(f, cls)]
        return reach(handlers, callees, moderating)

    def _callees(self) -> dict[int, list[int]]:
        """id(scope) -> ids of the functions it reaches in this module: called by name (or as
        ``self.method``), passed as a callable (``background_tasks.add_task(job, …)``,
        ``Thread(target=job)``), enqueued (``job.delay(…)``), or nested in it."""
        module_functions = {f.name: f for f, _, parent in self.functions if parent is self.file.tree}
        methods: dict[tuple[int, str], FunctionNode] = {
            (id(cls), f.name): f for f, cls, _ in self.functions if cls is not None
        }
        class_of = {id(f): cls for f, cls, _ in self.functions}
        graph: dict[int, list[int]] = {}
        for function, _cls, parent in self.functions:
            graph.setdefault(id(parent), []).append(id(function))
        for call, scope in self.calls:
            targets: list[FunctionNode | None] = []
            func = call.func
            if isinstance(func, ast.Name):
                targets.append(module_functions.get(func.id))
            elif isinstance(func, ast.Attribute):
                root = func.value
                if isinstance(root, ast.Name) and root.id in ("self", "cls"):
                    cls = class_of.get(id(scope))
                    if cls is not None:
                        targets.append(methods.get((id(cls), func.attr)))
                if func.attr in _ENQUEUE_METHODS and isinstance(root, ast.Name):
                    targets.append(module_functions.get(root.id))
            for argument in [*call.args, *(kw.value for kw in call.keywords)]:
                if isinstance(argument, ast.Name):
                    targets.append(module_functions.get(argument.id))
            graph.setdefault(id(scope), []).extend(id(t) for t in targets if t is not None)
        return graph

    def _moderating_scopes(self) -> set[int]:
        """Scopes that call moderation themselves (``moderations.create``, legacy ``Moderation.create``,
        a helper whose name says it moderates), or run an agent that has input guardrails."""
        found: set[int] = set()
        for call, scope in self.calls:
            chain, _root = attribute_chain(call.func)
            if (
                chain[-2:] == ["moderations", "create"]
                or self.qualified(call.func) == "openai.Moderation.create"
                or "moderat" in last_name(call.func).lower()
                or "guardrail" in last_name(call.func).lower()
            ) or keyword(call, "input_guardrails") is not None:
                found.add(id(scope))
        return found

    def _is_handler(self, function: FunctionNode, cls: ast.ClassDef | None) -> bool:
        for decorator in function.decorator_list:
            if self._is_route_decorator(decorator):
                return True
        return self._has_request_parameter(function, cls) or id(function) in self._global_request_readers

    @cached_property
    def _global_request_readers(self) -> set[int]:
        """Functions that read Flask's (Quart's, Bottle's) module-global ``request``."""
        names = {local for local, target in self.aliases.items() if target in _GLOBAL_REQUESTS}
        if not names:
            return set()
        found = set()
        for function, _cls, _parent in self.functions:
            for node in ast.walk(function):
                if (
                    isinstance(node, ast.Attribute)
                    and isinstance(node.value, ast.Name)
                    and node.value.id in names
                ):
                    found.add(id(function))
                    break
        return found

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


# Node types the collector has nothing to do with, and fields that never hold nodes.
_LEAVES = frozenset({ast.Name, ast.Constant, ast.Load, ast.Store, ast.Del})
_VALUE_FIELDS = frozenset(
    {"ctx", "id", "attr", "arg", "kind", "type_comment", "level", "conversion", "simple"}
)
_CHILD_FIELDS: dict[type[ast.AST], tuple[str, ...]] = {}


class _Collector(ast.NodeVisitor):
    """One walk over the tree that fills a ``ModuleFacts``."""

    def __init__(self, facts: ModuleFacts) -> None:
        self.facts = facts
        self.scopes: list[Scope] = [facts.file.tree]
        self.classes: list[ast.ClassDef | None] = [None]
        self.loop_depth = 0
        self.try_depth = 0

    # NodeVisitor looks the handler up by name for every node and visits every ``Load`` context node;
    # the SDK's own sources (large, heavily annotated) made that the cost of the whole analysis. The
    # handlers are kept per class, unbound: bound methods kept on the instance would make each collector
    # (and the tree its facts hold) a reference cycle, freed only by the cyclic collector.
    _dispatch: ClassVar[dict[type[ast.AST], Callable[[_Collector, Any], None]]] = {}

    def visit(self, node: ast.AST) -> None:
        handler = self._dispatch.get(type(node))
        if handler is None:
            cls = type(self)
            found: Callable[[_Collector, Any], None] = getattr(
                cls, "visit_" + type(node).__name__, cls.generic_visit
            )
            handler = self._dispatch[type(node)] = found
        handler(self, node)

    def generic_visit(self, node: ast.AST) -> None:
        # Names and constants (half the nodes of a module) need no visit; ``ctx`` and the plain-value
        # fields (``id``, ``attr``…) hold no nodes. Both are settled per node type, once.
        fields = _CHILD_FIELDS.get(type(node))
        if fields is None:
            fields = _CHILD_FIELDS[type(node)] = tuple(f for f in node._fields if f not in _VALUE_FIELDS)
        visit = self.visit
        for name in fields:
            value = getattr(node, name, None)
            if type(value) is list:
                for item in value:
                    if type(item) not in _LEAVES and isinstance(item, ast.AST):
                        visit(item)
            elif type(value) not in _LEAVES and isinstance(value, ast.AST):
                visit(value)

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
        elif isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name):
            self.facts.mutated_names.setdefault(id(self.scopes[-1]), set()).add(target.value.id)
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
            if last_name(decorator) in _ERROR_HANDLER_HOOKS:
                self.facts.error_handlers = True
        for default in (*node.args.defaults, *node.args.kw_defaults):
            if default is not None:
                self.visit(default)
        self._bind(node.name, ast.Constant(value=...), "def")
        self.facts.functions.append((node, self.classes[-1], self.scopes[-1]))
        self.facts.scope_of_function[id(node)] = self.scopes[-1]
        self.scopes.append(node)
        self.classes.append(self.classes[-1])
        outer_loops, self.loop_depth = self.loop_depth, 0
        outer_tries, self.try_depth = self.try_depth, 0
        for statement in node.body:
            self.visit(statement)
        self.loop_depth = outer_loops
        self.try_depth = outer_tries
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
        if self.try_depth:
            self.facts.calls_in_try.add(id(node))
        func = node.func
        if isinstance(func, ast.Attribute):
            if func.attr in ("update", "setdefault", "pop") and isinstance(func.value, ast.Name):
                self.facts.mutated_names.setdefault(id(self.scopes[-1]), set()).add(func.value.id)
            if func.attr in _ERROR_HANDLER_HOOKS:
                self.facts.error_handlers = True
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        # Leaves: skip NodeVisitor's lookup of the deprecated visit_Num/visit_Str handlers (costly per node).
        return

    def visit_Name(self, node: ast.Name) -> None:
        return

    def visit_Attribute(self, node: ast.Attribute) -> None:
        self.facts.attribute_reads.setdefault(id(self.scopes[-1]), set()).add(node.attr)
        self.generic_visit(node)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        key = node.slice
        if isinstance(key, ast.Constant) and isinstance(key.value, str):
            self.facts.attribute_reads.setdefault(id(self.scopes[-1]), set()).add(key.value)
        self.generic_visit(node)

    def visit_Expr(self, node: ast.Expr) -> None:
        value = node.value.value if isinstance(node.value, ast.Await) else node.value
        if isinstance(value, ast.Call):
            self.facts.discarded.add(id(value))
        self.generic_visit(node)

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            self._bind_target(target, node.value, "assign")
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        # The annotation is a type, never a call the checks look at.
        if node.value is not None:
            self._bind_target(node.target, node.value, "assign")
            self.visit(node.value)
        self.visit(node.target)

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
        guarded = 1 if node.handlers else 0
        self.try_depth += guarded
        for statement in node.body:
            self.visit(statement)
        self.try_depth -= guarded
        for part in (*node.handlers, *node.orelse, *node.finalbody):
            self.visit(part)

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
