"""Checks on how a request path treats the model: user input in the system prompt (PG311), moderation
results left unread (PG312), errors of the API left to crash the request (PG313), clients without a
timeout in services (PG314) and structured outputs used without looking at the refusal (PG315)."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from prodguard.scanner.practices.call_checks import user_requests
from prodguard.scanner.practices.locate import hit_at
from prodguard.scanner.practices.model import Hit, PythonFile
from prodguard.scanner.practices.pyfacts import (
    GenerationCall,
    ModuleFacts,
    Scope,
    attribute_chain,
    facts,
    has_unpacked_kwargs,
    keyword,
    last_name,
)

# Calls whose result is what a visitor typed.
_INPUT_WIDGETS = frozenset({"chat_input", "text_input", "text_area", "input"})
_REQUEST_NAMES = frozenset({"request", "req"})
_MODERATION_FIELDS = frozenset({"flagged", "categories", "category_scores"})
_TIMEOUT_OPTIONS = ("timeout", "request_timeout")


# ---- PG311 ---------------------------------------------------------------------------------------------


def _handler_parameters(module: ModuleFacts, scope: Scope) -> set[str]:
    """Parameters of a request handler that carry request data (not ``self``, not injected
    dependencies such as ``Depends(...)``, not the request object read elsewhere)."""
    if isinstance(scope, ast.Module) or not module.is_handler(scope):
        return set()
    arguments = [*scope.args.posonlyargs, *scope.args.args, *scope.args.kwonlyargs]
    defaults = (
        dict(zip([a.arg for a in arguments][-len(scope.args.defaults) :], scope.args.defaults, strict=False))
        if scope.args.defaults
        else {}
    )
    names = set()
    for argument in arguments:
        default = defaults.get(argument.arg)
        if argument.arg in ("self", "cls") or (
            isinstance(default, ast.Call) and last_name(default.func) == "Depends"
        ):
            continue
        names.add(argument.arg)
    return names


def _is_user_input(module: ModuleFacts, node: ast.expr, scope: Scope, depth: int = 0) -> bool:
    """``node`` reads what the user sent: the request (``request.json``, ``request.form[...]``), a handler
    parameter, a Streamlit/Gradio input widget's value, or a name assigned one of those."""
    if depth > 3:
        return False
    for part in ast.walk(node):
        if isinstance(part, ast.Attribute | ast.Subscript):
            root = attribute_chain(part)[1] if isinstance(part, ast.Attribute) else part.value
            while isinstance(root, ast.Subscript | ast.Attribute | ast.Call):
                root = root.value if not isinstance(root, ast.Call) else root.func
            if isinstance(root, ast.Name) and root.id in _REQUEST_NAMES:
                return True
        if isinstance(part, ast.Call) and last_name(part.func) in _INPUT_WIDGETS:
            return True
        if isinstance(part, ast.Name):
            if part.id in _handler_parameters(module, scope):
                return True
            for binding in module.bindings_of(part.id, scope):
                if binding.how in ("assign", "with", "for") and _is_user_input(
                    module, binding.value, scope, depth + 1
                ):
                    return True
    return False


def _is_built(node: ast.expr) -> bool:
    """A string assembled at run time: an f-string with placeholders, ``+``/``%`` or ``.format``."""
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(v, ast.FormattedValue) for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Mod):
        return True
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format"


def _system_texts(module: ModuleFacts, generation: GenerationCall) -> Iterator[ast.expr]:
    for name in ("instructions", "system"):
        value = generation.option(name)
        if value is not None:
            yield value
    for name in ("messages", "input"):
        value = generation.option(name)
        messages = module.resolve(value, generation.scope) if value is not None else None
        if not isinstance(messages, ast.List | ast.Tuple):
            continue
        for element in messages.elts:
            if not isinstance(element, ast.Dict):
                continue
            entry = {
                k.value: v
                for k, v in zip(element.keys, element.values, strict=True)
                if isinstance(k, ast.Constant) and isinstance(k.value, str)
            }
            role = entry.get("role")
            if (
                isinstance(role, ast.Constant)
                and role.value in ("system", "developer")
                and "content" in entry
            ):
                yield entry["content"]


def user_input_in_system_prompt(file: PythonFile) -> Iterator[Hit]:
    """PG311: a system/developer message (or ``instructions=``) assembled from request data."""
    module = facts(file)
    for generation in user_requests(module):
        for content in _system_texts(module, generation):
            value = module.resolve(content, generation.scope)
            if _is_built(value) and _is_user_input(module, value, generation.scope):
                yield hit_at(file, "PG311", content, "request data in the system/developer prompt")


# ---- PG312 ---------------------------------------------------------------------------------------------


def ignored_moderation(file: PythonFile) -> Iterator[Hit]:
    """PG312: ``moderations.create(...)`` whose result is discarded, or assigned in a function that never
    reads ``flagged``, ``categories`` or ``category_scores``."""
    module = facts(file)
    for call, scope in module.calls:
        chain, _root = attribute_chain(call.func)
        if (
            chain[-2:] != ["moderations", "create"]
            and module.qualified(call.func) != "openai.Moderation.create"
        ):
            continue
        if id(call) in module.discarded:
            yield hit_at(file, "PG312", call, "moderation result discarded")
            continue
        assigned = any(
            value is call or (isinstance(value, ast.Await) and value.value is call)
            for _target, value, s in module.assignments
            if s is scope
        )
        if assigned and not module.names_read_in(scope) & _MODERATION_FIELDS:
            yield hit_at(file, "PG312", call, "moderation result never checked for flagged")


# ---- PG313 ---------------------------------------------------------------------------------------------


def unhandled_api_errors(file: PythonFile) -> Iterator[Hit]:
    """PG313: a request made for a user outside any ``try`` in its function (or in every caller), in a
    module with no retry wrapper and no framework exception handler."""
    module = facts(file)
    if module.has_retry_wrapper() or module.error_handlers:
        return
    protected = module.functions_called_only_in_try()
    for generation in user_requests(module):
        if id(generation.call) in module.calls_in_try or id(generation.scope) in protected:
            continue
        yield hit_at(
            file, "PG313", generation.call, f"{generation.api} in a request path without error handling"
        )


# ---- PG314 ---------------------------------------------------------------------------------------------


def client_without_timeout(file: PythonFile) -> Iterator[Hit]:
    """PG314: an OpenAI client (or LangChain/LlamaIndex wrapper) built without ``timeout`` in a module
    that serves requests, when no request of the module sets its own."""
    module = facts(file)
    if not (module.is_service_module or any(True for _ in user_requests(module))):
        return
    for generation in module.generation_calls():
        if generation.is_request and generation.option("timeout") is not None:
            return
    for call, _scope in module.client_option_calls():
        if (
            isinstance(call.func, ast.Attribute)
            and call.func.attr == "with_options"
            and keyword(call, "timeout")
        ):
            return
    constructions = [call for call, _ in module.client_constructions()]
    constructions += [g.call for g in module.generation_calls() if g.api.startswith("langchain.")]
    for call in constructions:
        if has_unpacked_kwargs(call) or any(
            keyword(call, name) for name in (*_TIMEOUT_OPTIONS, "http_client")
        ):
            continue
        yield hit_at(file, "PG314", call, "client without an explicit timeout in a service")


# ---- PG315 ---------------------------------------------------------------------------------------------


def unchecked_refusal(file: PythonFile) -> Iterator[Hit]:
    """PG315: ``parse(...)`` (structured outputs) whose ``parsed``/``output_parsed`` value is read in a
    function that never reads ``refusal``."""
    module = facts(file)
    for generation in module.generation_calls():
        if not generation.api.endswith(".parse"):
            continue
        read = module.names_read_in(generation.scope)
        if read & {"parsed", "output_parsed"} and "refusal" not in read:
            yield hit_at(
                file, "PG315", generation.call, f"{generation.api} result used without checking refusal"
            )
