"""Checks on generation requests and what happens to their text: output-token caps, prompts and responses
written to logs, and requests that answer users without moderation or an end-user identifier.

A generation request is ``chat.completions.create``/``parse``/``stream``, ``responses.create``/``parse``/
``stream`` or legacy ``completions.create`` in a module that imports ``openai`` (see ``pyfacts``).
Calls with ``**options`` are skipped wherever a missing keyword is the finding: it may be in there.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from prodguard.scanner.practices.locate import hit_at
from prodguard.scanner.practices.model import Hit, PythonFile
from prodguard.scanner.practices.pyfacts import (
    GenerationCall,
    ModuleFacts,
    Scope,
    facts,
    has_unpacked_kwargs,
    keyword,
    last_name,
)

TOKEN_CAPS = ("max_tokens", "max_completion_tokens", "max_output_tokens")
END_USER_IDS = ("safety_identifier", "user")
_PROMPT_ARGS = ("messages", "input", "prompt")
# Response attributes that are metadata, not model or user text: logging them retains nothing sensitive.
_METADATA_ATTRS = frozenset(
    {
        "usage", "id", "model", "created", "created_at", "object", "system_fingerprint", "status",
        "finish_reason", "index", "role", "type", "error", "incomplete_details", "service_tier",
        "prompt_tokens", "completion_tokens", "total_tokens", "input_tokens", "output_tokens",
        "headers", "http_response", "status_code", "request_id", "_request_id", "response_ms",
    }
)  # fmt: skip
# Calls whose result still holds the text of their argument or receiver.
_PRESERVING_FUNCTIONS = frozenset({"str", "repr", "ascii", "json.dumps", "pprint.pformat"})
_PRESERVING_METHODS = frozenset(
    {"model_dump", "model_dump_json", "to_dict", "to_json", "json", "dict", "strip", "lower", "upper", "get"}
)
_JOINING_METHODS = frozenset({"join", "format"})
_LOG_METHODS = frozenset(
    {"debug", "info", "warning", "warn", "error", "exception", "critical", "fatal", "log", "msg"}
)
_PRINT_FUNCTIONS = frozenset({"print", "pprint.pprint", "pprint.pp", "rich.print"})
_LOGGER_NAMES = frozenset({"log", "_log", "logger", "_logger", "__logger", "logging", "log_"})
_SAFETY_HEADER = "openai-safety-identifier"


# Output-token caps by request shape; a LangChain/LlamaIndex wrapper takes ``max_tokens`` in its constructor.
_CAPS_BY_API = {
    "agents.Agent": ("max_tokens",),
    "langchain": ("max_tokens", "max_completion_tokens", "max_new_tokens"),
}
_FIXES = {
    "streamlit": "show `st.error(...)` and `st.stop()` when flagged",
    "gradio": "raise `gr.Error(...)` when flagged",
    "flask": "`abort(400)` when flagged",
    "django": "return `HttpResponseBadRequest()` when flagged",
    "fastapi": "raise `HTTPException(400)` when flagged",
    "chainlit": "send a refusal with `cl.Message(...)` and return when flagged",
}


def _caps(generation: GenerationCall) -> tuple[str, ...]:
    family = "langchain" if generation.api.startswith("langchain.") else generation.api
    return _CAPS_BY_API.get(family, TOKEN_CAPS)


def _agent_is_capped(module: ModuleFacts, generation: GenerationCall) -> bool | None:
    """``Agent(model_settings=ModelSettings(max_tokens=…))``: True/False, ``None`` when unknown."""
    settings = generation.option("model_settings")
    if settings is None:
        return False
    value = module.resolve(settings, generation.scope)
    if not isinstance(value, ast.Call) or has_unpacked_kwargs(value):
        return None
    kw = keyword(value, "max_tokens")
    return kw is not None and _is_set(kw.value)


def uncapped_generation(file: PythonFile) -> Iterator[Hit]:
    """PG306: a generation request (or an Agents SDK agent, a LangChain/LlamaIndex model wrapper) with no
    output-token cap. Left alone: the legacy Completions API (its default cap is 16 tokens), runs of an
    agent (the agent's definition is judged), and options that cannot be seen."""
    for generation in facts(file).generation_calls():
        if generation.resumes or generation.is_legacy_completion or generation.api == "agents.Runner.run":
            continue
        options = generation.options
        if options is None:
            continue
        if generation.api == "agents.Agent":
            if _agent_is_capped(facts(file), generation) is False:
                yield hit_at(file, "PG306", generation.call, "Agent without model_settings max_tokens")
            continue
        if any(_is_set(options.get(cap)) for cap in _caps(generation)):
            continue
        if _dict_has_key(options.get("extra_body"), TOKEN_CAPS):
            continue
        yield hit_at(file, "PG306", generation.call, f"{generation.api} without an output-token cap")


def _is_set(value: ast.expr | None) -> bool:
    return value is not None and not (isinstance(value, ast.Constant) and value.value is None)


def _dict_has_key(value: ast.expr | None, keys: tuple[str, ...]) -> bool:
    if not isinstance(value, ast.Dict):
        return False
    return any(isinstance(k, ast.Constant) and str(k.value).lower() in keys for k in value.keys)


def user_requests(module: ModuleFacts) -> Iterator[GenerationCall]:
    """Requests made for a user (see ``ModuleFacts.is_user_facing``), except in apps where each visitor
    brings their own API key: their usage and their abuse are billed to the visitor's organization."""
    if module.visitor_supplies_key:
        return
    for generation in module.generation_calls():
        if generation.is_request and not generation.resumes and module.is_user_facing(generation.scope):
            yield generation


def framework_fix(module: ModuleFacts) -> str:
    for name, fix in _FIXES.items():
        if name in module.imported_roots:
            return fix
    return ""


def unmoderated_user_generation(file: PythonFile) -> Iterator[Hit]:
    """PG308: a request made for a user on a path from the handler with no moderation (judged per
    function, see ``flow``), in a module not wrapped by prodguard's guard."""
    module = facts(file)
    if module.uses_prodguard_guard():
        return
    fix = framework_fix(module)
    for generation in user_requests(module):
        if module.is_moderated(generation.scope) or _is_set(generation.option("moderation")):
            continue
        if generation.api == "agents.Runner.run" and _agent_has_guardrails(module, generation):
            continue
        if generation.options is None and generation.api != "agents.Runner.run":
            continue
        detail = f"{generation.api} answers users without moderation" + (f"; {fix}" if fix else "")
        yield hit_at(file, "PG308", generation.call, detail)


def _agent_has_guardrails(module: ModuleFacts, generation: GenerationCall) -> bool:
    """``Runner.run(agent, …)`` where ``agent`` is built with ``input_guardrails=``: the Agents SDK's
    own check of the input before the model sees it."""
    agent = generation.call.args[0] if generation.call.args else None
    if agent is None:
        kw = keyword(generation.call, "starting_agent")
        agent = kw.value if kw is not None else None
    value = module.resolve(agent, generation.scope) if agent is not None else None
    return isinstance(value, ast.Call) and keyword(value, "input_guardrails") is not None


def missing_end_user_id(file: PythonFile) -> Iterator[Hit]:
    """PG309: a request made for a user with no ``safety_identifier``/``user`` (for an agent run: none in
    the module's model settings)."""
    module = facts(file)
    for generation in user_requests(module):
        if generation.api == "agents.Runner.run":
            if not any(name in module.file.source for name in ("safety_identifier", '"user"')):
                yield hit_at(file, "PG309", generation.call, "agent run for a user without safety_identifier")
            continue
        options = generation.options
        if options is None or any(_is_set(options.get(name)) for name in END_USER_IDS):
            continue
        if _dict_has_key(options.get("extra_headers"), (_SAFETY_HEADER,)):
            continue
        if _dict_has_key(options.get("extra_body"), END_USER_IDS):
            continue
        yield hit_at(
            file,
            "PG309",
            generation.call,
            f"{generation.api} made for a user without safety_identifier or user",
        )


class _Taint:
    """Names in one function that hold raw prompt or response text."""

    def __init__(self, module: ModuleFacts, scope: Scope, generations: list[GenerationCall]) -> None:
        self.module = module
        self.scope = scope
        self.names: set[str] = set()
        self.calls = calls = {id(g.call) for g in generations}
        for generation in generations:
            for argument in _PROMPT_ARGS:
                kw = keyword(generation.call, argument)
                if kw is not None:
                    self._add_prompt(kw.value, depth=0)
        table = module.bindings.get(id(scope), {})
        for _ in range(6):  # propagate through assignments until nothing changes (bounded)
            before = len(self.names)
            for name, bindings in table.items():
                if name in self.names:
                    continue
                for binding in bindings:
                    value = binding.value.value if isinstance(binding.value, ast.Await) else binding.value
                    produced = binding.how in ("assign", "with") and id(value) in calls
                    if produced or (binding.how in ("assign", "with", "for") and self.carries(value)):
                        self.names.add(name)
            if len(self.names) == before:
                break

    def _add_prompt(self, node: ast.expr, depth: int) -> None:
        """Names whose text goes into the prompt; a name bound only to a literal is a fixed prompt, not
        user data, and is left out."""
        if isinstance(node, ast.Name):
            bound = self.module.single_value(node, self.scope)
            if bound is not None and _is_static(bound):
                return
            self.names.add(node.id)
            if isinstance(bound, ast.List | ast.Tuple) and depth == 0:
                self._add_prompt(bound, depth + 1)
        elif isinstance(node, ast.List | ast.Tuple):
            for element in node.elts:
                if isinstance(element, ast.Dict):
                    for key, value in zip(element.keys, element.values, strict=True):
                        if isinstance(key, ast.Constant) and key.value == "content":
                            self._add_prompt(value, depth + 1)
                else:
                    self._add_prompt(element, depth + 1)
        elif isinstance(node, ast.JoinedStr):
            for part in node.values:
                if isinstance(part, ast.FormattedValue):
                    self._add_prompt(part.value, depth + 1)

    def carries(self, node: ast.expr | None) -> bool:
        """True when ``node``'s value still contains raw prompt or response text."""
        if node is None:
            return False
        if isinstance(node, ast.Name):
            return node.id in self.names
        if isinstance(node, ast.Attribute):
            return node.attr not in _METADATA_ATTRS and self.carries(node.value)
        if isinstance(node, ast.Subscript) and _is_metadata_key(node.slice):
            return False  # response["usage"] (dict responses of openai < 1 and of REST calls)
        if isinstance(node, ast.Subscript | ast.Await | ast.Starred | ast.FormattedValue):
            return self.carries(node.value)
        if isinstance(node, ast.JoinedStr):
            return any(self.carries(part) for part in node.values if isinstance(part, ast.FormattedValue))
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Mod):
            return self.carries(node.left) or self.carries(node.right)
        if isinstance(node, ast.Tuple | ast.List | ast.Set):
            return any(self.carries(element) for element in node.elts)
        if isinstance(node, ast.Dict):
            return any(self.carries(value) for value in node.values)
        if isinstance(node, ast.BoolOp):
            return any(self.carries(value) for value in node.values)
        if isinstance(node, ast.IfExp):
            return self.carries(node.body) or self.carries(node.orelse)
        if isinstance(node, ast.Call):
            return self._call_carries(node)
        return False

    def _call_carries(self, node: ast.Call) -> bool:
        if id(node) in self.calls:
            return True  # the generation request itself: its result is the response
        if self.module.qualified(node.func) in _PRESERVING_FUNCTIONS:
            return any(self.carries(arg) for arg in node.args)
        if isinstance(node.func, ast.Attribute):
            if node.func.attr == "get" and node.args and _is_metadata_key(node.args[0]):
                return False
            if node.func.attr in _PRESERVING_METHODS:
                return self.carries(node.func.value)
            if node.func.attr in _JOINING_METHODS:
                return any(self.carries(arg) for arg in [*node.args, *(kw.value for kw in node.keywords)])
        return False


def _is_metadata_key(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value in _METADATA_ATTRS


def _is_static(node: ast.expr) -> bool:
    """A literal made only of constants (a fixed prompt)."""
    return all(
        isinstance(n, ast.Constant | ast.List | ast.Tuple | ast.Dict | ast.Set | ast.expr_context)
        for n in ast.walk(node)
    )


def _sink_arguments(module: ModuleFacts, call: ast.Call) -> tuple[str, list[ast.expr]] | None:
    """("print"|"log", the arguments that end up in the output) when ``call`` prints or logs."""
    name = module.qualified(call.func)
    if name in _PRINT_FUNCTIONS:
        return "print", list(call.args)
    func = call.func
    if (
        not isinstance(func, ast.Attribute)
        or func.attr not in _LOG_METHODS
        or not _is_logger(module, func.value)
    ):
        return None
    arguments = list(call.args[1:] if func.attr == "log" else call.args)
    extra = keyword(call, "extra")
    if extra is not None:
        arguments.append(extra.value)
    return "log", arguments


def _is_logger(module: ModuleFacts, receiver: ast.expr) -> bool:
    if module.qualified(receiver) in ("logging", "loguru.logger", "structlog"):
        return True
    if isinstance(receiver, ast.Call):
        return last_name(receiver.func) in ("getLogger", "get_logger")
    name = last_name(receiver).lower()
    return name in _LOGGER_NAMES or name.endswith(("logger", "_log"))


def logged_prompt_or_response(file: PythonFile) -> Iterator[Hit]:
    """PG307: raw prompt or response text passed to a logger (anywhere) or to ``print`` (in web services
    and UI apps, where standard output is collected as logs). Test code is skipped."""
    module = facts(file)
    by_scope: dict[int, list[GenerationCall]] = {}
    for generation in module.generation_calls():
        by_scope.setdefault(id(generation.scope), []).append(generation)
    if not by_scope:
        return
    taints: dict[int, _Taint] = {}
    for call, scope in module.calls:
        generations = by_scope.get(id(scope))
        if generations is None:
            continue
        sink = _sink_arguments(module, call)
        if sink is None:
            continue
        kind, arguments = sink
        if kind == "print" and not (module.is_service_module or module.is_user_facing(scope)):
            continue  # a script printing its answer: standard output is its user interface
        taint = taints.get(id(scope))
        if taint is None:
            taint = taints[id(scope)] = _Taint(module, scope, generations)
        if any(taint.carries(argument) for argument in arguments):
            yield hit_at(
                file,
                "PG307",
                call,
                f"raw prompt or response text passed to {'print' if kind == 'print' else 'a logger'}",
            )
