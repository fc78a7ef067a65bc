"""The environment model shared by the scanner (staging/production analysis) and the guard (refusing a
call whose organization, project or key belongs to another environment).

Environments are declared once, in ``[tool.prodguard.environments.<name>]``. Without a declaration,
environments are inferred from names (paths, variable names); inferred answers say so.
"""

from __future__ import annotations

import enum
import hashlib
import re
from dataclasses import dataclass

import pathspec

from prodguard.config import ProjectConfig
from prodguard.schema import read_section, setting

ORG_ID = re.compile(r"^org-[A-Za-z0-9]{24}$")
PROJECT_ID = re.compile(r"^proj_[A-Za-z0-9]{24}$")
FINGERPRINT = re.compile(r"^sha256:[0-9a-f]{64}$")


class Tier(enum.StrEnum):
    """What matters for separation: production, or anything else (staging, development, test)."""

    PRODUCTION = "production"
    NON_PRODUCTION = "non-production"


# Name tokens, in the order they are tried: a path like tests/prod_fixtures is a test file first.
_TOKENS: tuple[tuple[str, frozenset[str]], ...] = (
    (
        "test",
        frozenset({"test", "tests", "testing", "qa", "spec", "specs", "fixture", "fixtures", "e2e", "ci"}),
    ),
    ("development", frozenset({"dev", "development", "local", "sandbox", "override", "devel"})),
    ("staging", frozenset({"staging", "stage", "stg", "preprod", "uat", "preview"})),
    ("production", frozenset({"prod", "production", "live", "prd"})),
)
_SPLIT = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z])(?=[A-Z])")


def tier_of(name: str) -> Tier:
    """The tier an environment name stands for: ``production``/``prod``/``live`` are production."""
    tokens = {t.lower() for t in _SPLIT.split(name) if t}
    return Tier.PRODUCTION if tokens & _TOKENS[-1][1] else Tier.NON_PRODUCTION


def infer_from_name(name: str) -> str | None:
    """An environment name from the tokens of a path or variable name (``PROD_OPENAI_ORG``,
    ``deploy/staging/app.yaml``, ``.env.development``), or ``None`` when nothing says."""
    tokens = {t.lower() for t in _SPLIT.split(name) if t}
    for environment, words in _TOKENS:
        if tokens & words:
            return environment
    return None


def key_fingerprint(key: str) -> str:
    """``sha256:`` and the hex SHA-256 of the key: what configs and logs hold instead of a key."""
    return "sha256:" + hashlib.sha256(key.strip().encode("utf-8")).hexdigest()


def identifier_hash(identifier: str) -> str:
    """The hash the scanner keeps for a matched value, for comparing declared identifiers with findings."""
    return hashlib.sha256(identifier.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Environment:
    name: str
    organizations: tuple[str, ...] = ()
    projects: tuple[str, ...] = ()
    key_fingerprints: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()
    production: bool = False

    @property
    def tier(self) -> Tier:
        return Tier.PRODUCTION if self.production else Tier.NON_PRODUCTION


@dataclass(frozen=True)
class Context:
    """The environment something belongs to, and whether that was declared or inferred."""

    name: str
    tier: Tier
    inferred: bool


@dataclass(frozen=True)
class EnvironmentPolicy:
    """Declared environments (possibly none), with lookups by identifier, fingerprint and path."""

    environments: tuple[Environment, ...] = ()
    source: str | None = None

    @property
    def declared(self) -> bool:
        return bool(self.environments)

    def get(self, name: str) -> Environment | None:
        return next((e for e in self.environments if e.name == name), None)

    def owner_of(self, value: str) -> Environment | None:
        """The environment that declares an organization id, project id or key fingerprint."""
        for env in self.environments:
            if value in env.organizations or value in env.projects or value in env.key_fingerprints:
                return env
        return None

    def owner_of_hash(self, value_hash: str) -> Environment | None:
        """As ``owner_of``, for a value known only by its SHA-256 (what findings carry)."""
        for env in self.environments:
            if any(identifier_hash(v) == value_hash for v in (*env.organizations, *env.projects)):
                return env
            if any(fp == f"sha256:{value_hash}" for fp in env.key_fingerprints):
                return env
        return None

    def declared_context(self, relative_path: str) -> Context | None:
        """The environment whose declared ``paths`` match ``relative_path``."""
        for env in self.environments:
            # The plain backend: compiling a Hyperscan database (pathspec's default) costs ~50 ms.
            spec = pathspec.GitIgnoreSpec.from_lines(env.paths, backend="simple") if env.paths else None
            if spec is not None and spec.match_file(relative_path):
                return Context(env.name, env.tier, inferred=False)
        return None


def inferred_context(name: str) -> Context | None:
    """The environment a path or variable name suggests, labelled as inferred."""
    environment = infer_from_name(name)
    if environment is None:
        return None
    return Context(environment, tier_of(environment), inferred=True)


@dataclass(frozen=True)
class EnvironmentTable:
    """One ``[environments.<name>]`` table as written (``Environment`` is what the checks use)."""

    organization: tuple[str, ...] = setting(
        (), doc="Organization id(s) (`org-…`) of this environment.", one_or_many=True
    )
    projects: tuple[str, ...] = setting((), doc="Project ids (`proj_…`).", one_or_many=True)
    key_fingerprints: tuple[str, ...] = setting(
        (), doc="Fingerprints of this environment's keys (`prodguard fingerprint` prints one).", one_or_many=True
    )
    paths: tuple[str, ...] = setting((), doc="Gitignore-style patterns of files that belong to this environment.", one_or_many=True)
    production: bool | None = setting(
        None, doc="Whether this is production; default: true when the name says so (prod, production, live)."
    )


_IDS = (
    ("organization", ORG_ID, "an organization id (org- and 24 characters)"),
    ("projects", PROJECT_ID, "a project id (proj_ and 24 characters)"),
    ("key_fingerprints", FINGERPRINT, "a key fingerprint (sha256: and 64 hex digits; `prodguard fingerprint` prints one)"),
)


def load_environments(config: ProjectConfig) -> EnvironmentPolicy:
    """Validate ``[tool.prodguard.environments]``; errors name the file and line."""
    tables: dict[str, EnvironmentTable] = read_section(config, "environments")
    environments = []
    owners: dict[str, str] = {}
    for name, table in tables.items():
        at = ("environments", name)
        for key, pattern, what in _IDS:
            _check_ids(config, getattr(table, key), pattern, what, *at, key)
        production = tier_of(name) is Tier.PRODUCTION if table.production is None else table.production
        for key, _, _ in _IDS:
            for value in getattr(table, key):
                if value in owners and owners[value] != name:
                    raise config.error(
                        f"{_shown(value)} is declared for both {owners[value]!r} and {name!r}: environments must not share identifiers or keys",
                        *at,
                        key,
                    )
                owners[value] = name
        environments.append(
            Environment(name, table.organization, table.projects, table.key_fingerprints, table.paths, production)
        )
    return EnvironmentPolicy(tuple(environments), config.path)


def _shown(value: str) -> str:
    return value if not value.startswith("sha256:") else value[:15] + "…"


def _check_ids(config: ProjectConfig, values: tuple[str, ...], pattern: re.Pattern[str], what: str, *keys: str) -> None:
    for v in values:
        if v.startswith("sk-"):
            # Someone pasted a key where its fingerprint belongs; never echo any of it.
            raise config.error(f"{keys[-1]} holds what looks like an API key; put its fingerprint there instead (`prodguard fingerprint`) and revoke the key", *keys)
        if not pattern.match(v):
            raise config.error(f"{keys[-1]}: {v[:8]!r}… is not {what}", *keys)
