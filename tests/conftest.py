"""Shared fixtures: the built-in catalogue (loaded once), an engine over it, and a CLI runner that
invokes the installed ``prodguard`` entry point in-process."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from prodguard.cli import cli
from prodguard.guard._state.backend import close_backends
from prodguard.guard.testing import FakeOpenAI
from prodguard.rules.catalogue import Catalogue, load_catalogue
from prodguard.scanner.engine import Engine
from tests.redis_server import RedisServer, running_redis

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    return load_catalogue(compile_builtin=True)


@pytest.fixture(scope="session")
def engine(catalogue: Catalogue) -> Engine:
    return Engine(catalogue.pattern_rules)


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    """A local OpenAI-compatible server for one test (the real SDK talks to it)."""
    with FakeOpenAI() as srv:
        yield srv


@pytest.fixture(scope="module")
def redis() -> Iterator[RedisServer]:
    """A real redis-server on a free loopback port, for the tests of one module."""
    with running_redis() as srv:
        yield srv


@pytest.fixture
def fresh_backends() -> Iterator[None]:
    """Closes the guard's cached state backends after a test (the backend tests use it for every test)."""
    yield
    close_backends()


@pytest.fixture
def run_cli(monkeypatch: pytest.MonkeyPatch):
    """Run ``prodguard ARGS`` in-process from ``cwd``; returns click's Result (exit code, stdout, stderr)."""
    monkeypatch.setenv("NO_COLOR", "1")

    def run(*args: str, cwd: Path | None = None, input: str | None = None) -> Result:
        old = os.getcwd()
        if cwd is not None:
            os.chdir(cwd)
        try:
            return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)
        finally:
            os.chdir(old)

    return run
