"""Checks on how an OpenAI client is configured: where its key, organization and project come from, the
transport it talks over, and whether it retries.

Each check looks at client constructions (``OpenAI(...)``, ``AsyncOpenAI``, ``AzureOpenAI``…),
``client.with_options(...)`` and the legacy module client (``openai.api_key = …``). A value is only
judged when it is a literal in the call or a name assigned a literal exactly once.
"""

from __future__ import annotations

import ast
import ipaddress
import re
from collections.abc import Iterator
from dataclasses import replace
from functools import lru_cache
from urllib.parse import urlsplit

from prodguard.rules.validators import is_placeholder, looks_like_words, shannon_entropy
from prodguard.scanner.practices.locate import hit_at, secret_hit
from prodguard.scanner.practices.model import Hit, PracticeCheck, PythonFile
from prodguard.scanner.practices.pyfacts import (
    ModuleFacts,
    Scope,
    facts,
    has_unpacked_kwargs,
    keyword,
    last_name,
)

_KEY_ENV_NAMES = frozenset({"OPENAI_API_KEY", "AZURE_OPENAI_API_KEY", "OPENAI_ADMIN_KEY"})
_ORG_ENV_NAMES = {
    "OPENAI_ORG_ID": "organization",
    "OPENAI_ORGANIZATION": "organization",
    "OPENAI_PROJECT_ID": "project",
}
ORG_ID = re.compile(r"^org-[A-Za-z0-9]{16,40}$")
PROJECT_ID = re.compile(r"^proj_[A-Za-z0-9]{16,40}$")
_HEADER_KINDS = {"openai-organization": "organization", "openai-project": "project"}
_HTTP_CLIENT_CLASSES = frozenset(
    {
        "httpx.Client", "httpx.AsyncClient", "httpx2.Client", "httpx2.AsyncClient",
        "openai.DefaultHttpxClient", "openai.DefaultAsyncHttpxClient", "openai.DefaultHttpx2Client",
        "openai.DefaultAsyncHttpx2Client", "openai.DefaultAioHttpClient",
    }
)  # fmt: skip
_UNVERIFIED_CONTEXTS = frozenset({"ssl._create_unverified_context", "ssl._create_default_https_context"})
_LOCAL_SUFFIXES = (".local", ".localhost", ".docker.internal")
_DOC_DOMAINS = (".example", ".test", ".invalid", "example.com", "example.org", "example.net")


def _string(node: ast.Constant | None) -> str | None:
    return node.value if node is not None and isinstance(node.value, str) else None


def is_literal_key(value: str) -> bool:
    """A value that can be a credential: long enough, random-looking, not a stand-in or a name.
    Local servers take keys such as ``"ollama"``, ``"EMPTY"`` or ``"sk-no-key-required"``; those fail."""
    value = value.strip()
    if len(value) < 16 or any(c.isspace() for c in value):
        return False
    if is_placeholder(value) or looks_like_words(value):
        return False
    return shannon_entropy(value) >= 3.0


def _option_values(facts_: ModuleFacts, name: str) -> Iterator[tuple[ast.Call, Scope, ast.expr]]:
    """``name=value`` in client constructions and ``with_options`` calls."""
    for call, scope in facts_.client_option_calls():
        kw = keyword(call, name)
        if kw is not None:
            yield call, scope, kw.value


def _environ_assignments(facts_: ModuleFacts) -> Iterator[tuple[str, ast.expr, Scope]]:
    """``os.environ["NAME"] = value`` and ``os.environ.setdefault("NAME", value)``: (NAME, value, scope)."""
    for target, value, scope in facts_.assignments:
        if isinstance(target, ast.Subscript) and facts_.qualified(target.value) == "os.environ":
            key = target.slice
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                yield key.value, value, scope
    for call, scope in facts_.calls:
        name = facts_.qualified(call.func)
        if name in ("os.environ.setdefault", "os.putenv") and len(call.args) == 2:
            key = call.args[0]
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                yield key.value, call.args[1], scope


def _key_literals(module: ModuleFacts, *, local_servers: bool) -> Iterator[tuple[ast.Constant, str]]:
    """Literal keys given to the SDK (each once) and how; with ``local_servers`` also those a client
    pointed at this machine receives."""
    seen: set[int] = set()
    candidates: list[tuple[ast.expr, Scope, str, ast.Call | None]] = [
        (_env_default(module, value, scope), scope, "literal api_key= on the client", call)
        for call, scope, value in _option_values(module, "api_key")
    ]
    candidates += [
        (_env_default(module, value, scope), scope, "literal assigned to openai.api_key", None)
        for _attr, value, scope in module.module_client_assignments(frozenset({"api_key"}))
    ]
    candidates += [
        (value, scope, f"literal written to os.environ[{name!r}]", None)
        for name, value, scope in _environ_assignments(module)
        if name in _KEY_ENV_NAMES
    ]
    for value, scope, how, call in candidates:
        literal = module.constant(value, scope)
        key = _string(literal)
        if literal is None or key is None or id(literal) in seen or not is_literal_key(key):
            continue
        local = call is not None and _talks_to_local_server(module, call, scope)
        if local and not local_servers and not (key.startswith("sk-") and len(key) >= 40):
            continue  # a local model server's stand-in key
        seen.add(id(literal))
        yield literal, how


def literal_api_key(file: PythonFile) -> Iterator[Hit]:
    """PG301: a literal key passed as ``api_key=`` (or as the fallback of ``os.getenv``), assigned to
    ``openai.api_key`` or put into ``os.environ["OPENAI_API_KEY"]``."""
    for literal, how in _key_literals(facts(file), local_servers=False):
        yield secret_hit(file, "PG301", literal, how)


def _env_default(module: ModuleFacts, node: ast.expr, scope: Scope) -> ast.expr:
    """The fallback of ``os.environ.get("NAME", fallback)``/``os.getenv(...)``: a literal there is a key
    written in code just the same. Anything else is returned unchanged."""
    value = module.resolve(node, scope)
    if isinstance(value, ast.Call) and module.qualified(value.func) in ("os.environ.get", "os.getenv"):
        if len(value.args) == 2:
            return value.args[1]
        default = keyword(value, "default")
        if default is not None:
            return default.value
    return node


@lru_cache(maxsize=4)
def _literal_key_spans(file: PythonFile) -> dict[int, tuple[int, int]]:
    """Line -> columns of the literal keys on it, local servers' included (the whole line when it holds
    two)."""
    spans: dict[int, tuple[int, int]] = {}
    for literal, how in _key_literals(facts(file), local_servers=True):
        hit = secret_hit(file, "PG301", literal, how)
        if hit.redact_columns is not None:
            whole = (0, len(file.lines[hit.line - 1]))
            spans[hit.line] = whole if hit.line in spans else hit.redact_columns
    return spans


def hiding_literal_keys(check: PracticeCheck) -> PracticeCheck:
    """``check`` with a literal key on the line of any of its hits redacted in the excerpt, whether or
    not PG301 is enabled: ``OpenAI(api_key="…", max_retries=0)`` reported for its retries must not show
    the key."""

    def hidden(file: PythonFile) -> Iterator[Hit]:
        for hit in check(file):
            if hit.redact_columns is None:
                span = _literal_key_spans(file).get(hit.line)
                if span is not None:
                    hit = replace(hit, redact_columns=span)
            yield hit

    return hidden


def _talks_to_local_server(module: ModuleFacts, call: ast.Call, scope: Scope) -> bool:
    kw = keyword(call, "base_url")
    url = _string(module.constant(kw.value, scope)) if kw is not None else None
    if url is None:
        return False
    host = url_host(url)
    return host is not None and is_local_host(host)


def literal_organization(file: PythonFile) -> Iterator[Hit]:
    """PG302: an organization or project ID written in code (``organization="org-…"``,
    ``project="proj_…"``, ``openai.organization = …``, the ``OpenAI-Organization`` header, or
    ``os.environ["OPENAI_ORG_ID"] = …``)."""
    module = facts(file)
    candidates: list[tuple[str, ast.expr, Scope]] = []
    for kind in ("organization", "project"):
        candidates += [(kind, value, scope) for _call, scope, value in _option_values(module, kind)]
    for attr, value, scope in module.module_client_assignments(frozenset({"organization", "project"})):
        candidates.append((attr, value, scope))
    for name, value, scope in _environ_assignments(module):
        if name in _ORG_ENV_NAMES:
            candidates.append((_ORG_ENV_NAMES[name], value, scope))
    for _call, scope, value in _option_values(module, "default_headers"):
        headers = module.resolve(value, scope)
        if isinstance(headers, ast.Dict):
            for key, item in zip(headers.keys, headers.values, strict=True):
                header = _string(key) if isinstance(key, ast.Constant) else None
                if header is not None and header.lower() in _HEADER_KINDS:
                    candidates.append((_HEADER_KINDS[header.lower()], item, scope))
    seen: set[int] = set()
    for kind, value, scope in candidates:
        literal = module.constant(value, scope)
        text = _string(literal)
        if literal is None or text is None or id(literal) in seen:
            continue
        pattern = ORG_ID if kind == "organization" else PROJECT_ID
        if pattern.match(text) and not is_placeholder(text):
            seen.add(id(literal))
            yield hit_at(file, "PG302", literal, f"{kind} ID written in code")


def url_host(url: str) -> str | None:
    try:
        host = urlsplit(url.strip()).hostname
    except ValueError:
        return None
    return host or None


def is_local_host(host: str) -> bool:
    """Loopback, unspecified, ``*.local``/``*.localhost``, Docker's host alias, and single-label names
    (docker-compose services and cluster-internal names, reached over the local network)."""
    host = host.lower().strip("[]").rstrip(".")
    if host == "localhost" or host.endswith(_LOCAL_SUFFIXES) or ("." not in host and ":" not in host):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified or address.is_link_local


def _plain_http_url(node: ast.expr) -> str | None:
    """The URL when ``node`` is a plain-HTTP URL literal with a readable host (f-strings count when the
    host is written out before the first placeholder)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        url = node.value
    elif isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
        head = node.values[0].value
        if not isinstance(head, str) or not re.match(r"(?i)^http://[^/:{}]+[/:]", head):
            return None
        url = head
    else:
        return None
    return plain_http_url(url)


def plain_http_url(url: str) -> str | None:
    """``url`` when it is plain HTTP to a host that is not this machine, a stand-in or a documentation
    domain; else ``None``."""
    if not url.lower().startswith("http://"):
        return None
    host = url_host(url)
    if host is None or is_local_host(host) or is_placeholder(host) or host.endswith(_DOC_DOMAINS):
        return None
    return url


def plain_http_base_url(file: PythonFile) -> Iterator[Hit]:
    """PG303: ``base_url``/``azure_endpoint`` (or ``openai.base_url``/``api_base``) over ``http://`` to a
    host that is not this machine."""
    module = facts(file)
    values: list[tuple[ast.expr, Scope]] = []
    for name in ("base_url", "azure_endpoint", "websocket_base_url"):
        values += [(value, scope) for _call, scope, value in _option_values(module, name)]
    attrs = frozenset({"base_url", "api_base", "azure_endpoint"})
    values += [(value, scope) for _a, value, scope in module.module_client_assignments(attrs)]
    seen: set[int] = set()
    for value, scope in values:
        node = module.resolve(value, scope)
        url = _plain_http_url(node)
        if url is not None and id(node) not in seen:
            seen.add(id(node))
            yield hit_at(file, "PG303", node, f"plain-HTTP endpoint {url_host(url)}")


def _is_false(module: ModuleFacts, node: ast.expr, scope: Scope) -> bool:
    literal = module.constant(node, scope)
    if literal is not None:
        return literal.value is False
    value = module.resolve(node, scope)
    return isinstance(value, ast.Call) and module.qualified(value.func) in _UNVERIFIED_CONTEXTS


def _unverified_http_client(module: ModuleFacts, node: ast.expr, scope: Scope) -> ast.keyword | None:
    """The ``verify=False`` keyword when ``node`` is (or names) an HTTP client built with verification off."""
    value = module.resolve(node, scope)
    if not isinstance(value, ast.Call) or module.qualified(value.func) not in _HTTP_CLIENT_CLASSES:
        return None
    verify = keyword(value, "verify")
    if verify is not None and _is_false(module, verify.value, scope):
        return verify
    return None


def tls_verification_disabled(file: PythonFile) -> Iterator[Hit]:
    """PG304: the client's ``http_client`` (or ``openai.http_client``) is built with ``verify=False``."""
    module = facts(file)
    values = [(value, scope) for _call, scope, value in _option_values(module, "http_client")]
    attrs = frozenset({"http_client"})
    values += [(value, scope) for _a, value, scope in module.module_client_assignments(attrs)]
    seen: set[int] = set()
    for value, scope in values:
        verify = _unverified_http_client(module, value, scope)
        if verify is not None and id(verify) not in seen:
            seen.add(id(verify))
            yield hit_at(file, "PG304", verify, "TLS certificate verification disabled")


def retries_disabled(file: PythonFile) -> Iterator[Hit]:
    """PG305: ``max_retries=0`` on a client (or ``openai.max_retries = 0``) in a module that has no retry
    wrapper of its own. Test code is skipped: tests turn retries off on purpose."""
    module = facts(file)
    values = [
        (value, scope)
        for call, scope, value in _option_values(module, "max_retries")
        if not _uses_mock_transport(module, call, scope)
    ]
    attrs = frozenset({"max_retries"})
    values += [(value, scope) for _a, value, scope in module.module_client_assignments(attrs)]
    zeros = [value for value, scope in values if _is_zero(module.constant(value, scope))]
    if not zeros or module.has_retry_wrapper():
        return
    for value in zeros:
        yield hit_at(file, "PG305", value, "retries disabled and no retry wrapper in this module")


def _uses_mock_transport(module: ModuleFacts, call: ast.Call, scope: Scope) -> bool:
    """The client's HTTP client answers from a mock transport: no request reaches a rate limit."""
    kw = keyword(call, "http_client")
    http_client = module.resolve(kw.value, scope) if kw is not None else None
    if not isinstance(http_client, ast.Call):
        return False
    transport = keyword(http_client, "transport")
    value = module.resolve(transport.value, scope) if transport is not None else None
    return isinstance(value, ast.Call) and "Mock" in last_name(value.func)


def _is_zero(literal: ast.Constant | None) -> bool:
    return literal is not None and type(literal.value) is int and literal.value == 0


def client_without_organization(file: PythonFile) -> Iterator[Hit]:
    """PG207: an OpenAI client built with neither ``organization`` nor ``project``, talking to the OpenAI
    API. Left alone: clients pointed elsewhere (``base_url``, ``provider``), Azure clients, ``**options``,
    clients on a mock transport or with a stand-in literal key, apps where each visitor brings their own
    key, and test code. Whether a hit matters is the environment analyzer's decision."""
    module = facts(file)
    if module.visitor_supplies_key:
        return  # each visitor's own key: their organization is theirs to choose
    for call, scope in module.client_constructions():
        name = module.qualified(call.func) or ""
        if "Azure" in name or has_unpacked_kwargs(call) or call.args:
            continue
        if _uses_mock_transport(module, call, scope) or _has_stand_in_key(module, call, scope):
            continue
        if any(
            keyword(call, k) is not None for k in ("organization", "project", "provider", "data_residency")
        ):
            continue
        if _sets_org_header(module, call, scope):
            continue
        if not _talks_to_openai(module, call, scope):
            continue
        yield hit_at(file, "PG207", call, "client without organization/project")


def _talks_to_openai(module: ModuleFacts, call: ast.Call, scope: Scope) -> bool:
    """No endpoint given, or one written out that is the OpenAI API."""
    for name in ("base_url", "websocket_base_url"):
        kw = keyword(call, name)
        if kw is not None:
            url = _string(module.constant(kw.value, scope))
            if url is None or "api.openai.com" not in url:
                return False
    return True


def _has_stand_in_key(module: ModuleFacts, call: ast.Call, scope: Scope) -> bool:
    """``api_key="synthetic-key"``: a literal that cannot be a credential, so not the OpenAI API."""
    kw = keyword(call, "api_key")
    key = _string(module.constant(kw.value, scope)) if kw is not None else None
    return key is not None and not is_literal_key(key)


def _sets_org_header(module: ModuleFacts, call: ast.Call, scope: Scope) -> bool:
    kw = keyword(call, "default_headers")
    if kw is None:
        return False
    headers = module.resolve(kw.value, scope)
    if not isinstance(headers, ast.Dict):
        return True  # headers built elsewhere may well carry the organization
    return any(
        isinstance(key, ast.Constant) and str(key.value).lower() in _HEADER_KINDS for key in headers.keys
    )
