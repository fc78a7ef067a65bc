"""What the code does right: the positive side of the practices, read from Python modules that use the
SDK or the guard, with the same parsed facts (``practices.pyfacts``) the practice rules use.

The scanner's rules report what is wrong; a readiness report also needs what is in place (the guard
installed, capped requests, end-user ids, moderation calls, retries left on, an evaluation script).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from prodguard.scanner.filters import PathFilter
from prodguard.scanner.practices import MAX_PARSE_BYTES
from prodguard.scanner.practices.call_checks import END_USER_IDS, TOKEN_CAPS
from prodguard.scanner.practices.model import PythonFile, split_lines
from prodguard.scanner.practices.pyfacts import (
    ModuleFacts,
    attribute_chain,
    facts,
    keyword,
    last_name,
)
from prodguard.scanner.practices.testpaths import TestPaths
from prodguard.scanner.settings import ScanSettings
from prodguard.scanner.sources import FileEntry, Listing, iter_paths, read_entry

GUARD_ENTRY_POINTS = frozenset({"prodguard.guard.protect", "prodguard.guard.install"})
_MENTIONS = (b"openai", b"prodguard")
_EVAL_NAME = re.compile(r"(^|[/_.-])(evals?|evaluations?|evaluate|grader|grading)([/_.-]|$)", re.IGNORECASE)


@dataclass(frozen=True)
class Site:
    """A place in the code and what is there."""

    path: str
    line: int
    note: str


@dataclass
class CodeFacts:
    """Sites found across the repository, by what they show."""

    guard_installs: list[Site] = field(default_factory=list)
    clients: list[Site] = field(default_factory=list)
    key_from_environment: list[Site] = field(default_factory=list)
    explicit_organization: list[Site] = field(default_factory=list)
    retries_on: list[Site] = field(default_factory=list)
    retry_wrappers: list[Site] = field(default_factory=list)
    generations: list[Site] = field(default_factory=list)
    user_facing_generations: list[Site] = field(default_factory=list)
    capped: list[Site] = field(default_factory=list)
    end_user_ids: list[Site] = field(default_factory=list)
    moderation: list[Site] = field(default_factory=list)
    evaluations: list[Site] = field(default_factory=list)

    @property
    def uses_api(self) -> bool:
        return bool(self.clients or self.generations or self.guard_installs)


class _SiteMaker(Protocol):
    def __call__(self, node: ast.AST, note: str) -> Site: ...


def collect(paths: Iterable[str], settings: ScanSettings) -> CodeFacts:
    """Walk ``paths`` as a scan with ``settings`` would (gitignore, excludes) and collect the facts."""
    found = CodeFacts()
    listing = Listing()
    entries = iter_paths(
        list(paths),
        listing,
        excludes=PathFilter(settings.exclude),
        project_root=settings.root,
        max_file_size=min(settings.max_file_size, MAX_PARSE_BYTES),
        use_gitignore=settings.gitignore,
    )
    for entry in entries:
        if entry.path.endswith((".py", ".pyi")):
            _collect_file(entry, found, settings.test_paths)
    return found


def _collect_file(entry: FileEntry, found: CodeFacts, tests: TestPaths) -> None:
    data, _notice, _skipped = read_entry(entry, MAX_PARSE_BYTES)
    if data is None or not any(word in data for word in _MENTIONS):
        return
    source = data.decode("utf-8", "replace")
    try:
        tree = ast.parse(source, filename=entry.path)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return
    is_test = tests.matching(entry.path) is not None
    file = PythonFile(entry.path, tree, source, split_lines(source), is_test)
    module = facts(file)
    path = entry.path

    def site(node: ast.AST, note: str) -> Site:
        return Site(path, getattr(node, "lineno", 0), note)

    if is_test:
        return  # tests build stand-in clients, guards and uncapped calls on purpose; they show no control
    for call, _scope in module.calls:
        if module.qualified(call.func) in GUARD_ENTRY_POINTS:
            found.guard_installs.append(site(call, f"{last_name(call.func)}() installs the prodguard guard"))
    _collect_clients(module, found, site)
    _collect_generations(module, found, site)
    for call, _scope in module.calls:
        chain, _root = attribute_chain(call.func)
        if (
            chain[-2:] == ["moderations", "create"]
            or module.qualified(call.func) == "openai.Moderation.create"
        ):
            found.moderation.append(site(call, "moderations.create"))
    if module.has_retry_wrapper():
        found.retry_wrappers.append(Site(path, 0, "retry wrapper around API calls"))
    if _EVAL_NAME.search(path) and (module.generation_calls() or module.client_constructions()):
        found.evaluations.append(Site(path, 0, "evaluation script calling the model"))


def _collect_clients(module: ModuleFacts, found: CodeFacts, site: _SiteMaker) -> None:
    for call, scope in module.client_constructions():
        name = last_name(call.func)
        found.clients.append(site(call, f"{name}() client"))
        key = keyword(call, "api_key")
        key_value = module.resolve(key.value, scope) if key is not None else None
        if key is None:
            found.key_from_environment.append(
                site(call, f"{name}() reads OPENAI_API_KEY from the environment")
            )
        elif not _is_literal(key_value) and not _has_literal_default(key_value):
            found.key_from_environment.append(site(call, f"{name}(api_key=…) from configuration"))
        if keyword(call, "organization") is not None or keyword(call, "project") is not None:
            found.explicit_organization.append(site(call, f"{name}() names its organization/project"))
        retries = keyword(call, "max_retries")
        value = module.constant(retries.value, scope) if retries is not None else None
        if retries is None:
            found.retries_on.append(site(call, f"{name}() keeps the SDK's default retries with backoff"))
        elif value is not None and type(value.value) is int and value.value > 0:
            found.retries_on.append(site(call, f"{name}(max_retries={value.value})"))


def _is_literal(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def _has_literal_default(node: ast.expr | None) -> bool:
    """``os.environ.get("K", "sk-…")``: the environment, with a literal fallback (PG301 territory)."""
    if not isinstance(node, ast.Call) or len(node.args) < 2:
        return False
    default = node.args[1]
    return isinstance(default, ast.Constant) and isinstance(default.value, str) and bool(default.value)


def _collect_generations(module: ModuleFacts, found: CodeFacts, site: _SiteMaker) -> None:
    for generation in module.generation_calls():
        if generation.resumes:
            continue
        call = generation.call
        found.generations.append(site(call, generation.api))
        if module.is_user_facing(generation.scope):
            found.user_facing_generations.append(site(call, f"{generation.api} answers a user"))
        caps = [name for name in TOKEN_CAPS if keyword(call, name) is not None]
        if caps:
            found.capped.append(site(call, f"{generation.api}({caps[0]}=…)"))
        ids = [name for name in END_USER_IDS if keyword(call, name) is not None]
        if ids:
            found.end_user_ids.append(site(call, f"{generation.api}({ids[0]}=…)"))
