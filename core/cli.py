"""The command line. This is the only module that imports click; each command calls a typed function
that returns an exit code, and errors map to exit codes in one place (``main``).

Exit codes: 0 clean, 1 findings at or above the threshold, 2 usage or configuration error,
3 unexpected internal error, 130 interrupted.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

import click

from prodguard import __version__
from prodguard.errors import OPTIONAL_MODULES, MissingDependency, ProdguardError

EXIT_USAGE = 2
EXIT_CRASH = 3
EXIT_INTERRUPTED = 130

FORMATS = ("text", "json", "sarif", "junit")
SEVERITIES = ("info", "low", "medium", "high", "critical")


def _parse_kinds(_ctx: click.Context, _param: click.Parameter, value: str | None) -> frozenset[Any]:
    if not value:
        return frozenset()
    from prodguard.scanner.settings import parse_kinds

    try:
        return parse_kinds(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


KINDS_HELP = (
    "Report only these kinds of finding, comma-separated: secret, identifier, environment, practice "
    "[default: all]."
)


def _parse_size(_ctx: click.Context, _param: click.Parameter, value: str | None) -> int | None:
    if value is None:
        return None
    from prodguard.scanner.settings import parse_size

    try:
        return parse_size(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="prodguard")
def cli() -> None:
    """prodguard: find leaked LLM credentials and unsafe OpenAI usage; guard OpenAI calls at run time.

    \b
    Exit codes: 0 clean, 1 findings at or above --min-severity, 2 usage or
    configuration error, 3 internal error, 130 interrupted.
    """


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option(
    "--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True, help="Report format."
)
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False), help="Write the report to this file instead of stdout."
)
@click.option(
    "--config",
    type=click.Path(dir_okay=False),
    help="prodguard.toml or pyproject.toml to use (default: nearest one).",
)
@click.option(
    "--min-severity",
    type=click.Choice(SEVERITIES),
    help="Report findings at or above this severity [config or: low].",
)
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=0),
    help="Worker processes; 0 = one per core for large trees [default: 0].",
)
@click.option(
    "--exclude",
    multiple=True,
    help="Gitignore-style pattern to skip (repeatable), added to the config's excludes.",
)
@click.option(
    "--max-file-size",
    callback=_parse_size,
    help="Skip files larger than this, with a notice (e.g. 20MiB) [default: 20MiB].",
)
@click.option("--no-gitignore", "no_gitignore", is_flag=True, help="Scan files that .gitignore excludes too.")
@click.option(
    "--staged",
    is_flag=True,
    help="Scan the staged (index) content of staged files, or of PATHS: what the commit will contain.",
)
@click.option(
    "--history",
    is_flag=True,
    help="Scan every blob in the history of the repository (PATHS: the repository and/or a revision range).",
)
@click.option("--since", metavar="REV", help="With --history: only commits after REV.")
@click.option("--all-refs", is_flag=True, help="With --history: every branch and tag, not only HEAD.")
@click.option(
    "--history-practices",
    is_flag=True,
    help="With --history: also report code-practice and environment findings in past versions "
    "(by default history reports secrets, which stay exposed there; practices describe the code as it is).",
)
@click.option(
    "--diff", metavar="BASE", help="Only what the commits BASE..HEAD introduce (for pull-request checks)."
)
@click.option(
    "--baseline",
    type=click.Path(dir_okay=False),
    help="Do not report findings recorded in this baseline file "
    "[default: the config's baseline, or .prodguard-baseline.json at the repository root].",
)
@click.option(
    "--verify",
    is_flag=True,
    help="Ask the OpenAI API about each found OpenAI key: live, revoked or unknown, its organization and "
    "projects, and the declared environment it belongs to. Sends the keys to the API; off by default.",
)
@click.option(
    "--verify-base-url",
    metavar="URL",
    help="API base URL for --verify [default: OPENAI_BASE_URL, else https://api.openai.com/v1].",
)
@click.option(
    "--verify-timeout",
    type=click.FloatRange(min=0.1, max=60),
    help="Seconds to wait for each --verify request [default: 5].",
)
@click.option("--no-baseline", is_flag=True, help="Report findings a baseline would hide.")
@click.option("--kinds", callback=_parse_kinds, metavar="KINDS", help=KINDS_HELP)
@click.option(
    "--changed-lines",
    is_flag=True,
    help="With --staged: only findings on lines the staged change adds (the practice hook).",
)
@click.option(
    "--stdin-filename",
    metavar="NAME",
    help="With - (standard input): the file name to report, whose suffix selects checks (app.py).",
)
@click.option("-q", "--quiet", is_flag=True, help="Findings only: no notices, no summary line.")
@click.option("-v", "--verbose", is_flag=True, help="Show progress on standard error while scanning (on a terminal).")
def scan(
    paths: tuple[str, ...],
    fmt: str,
    output: str | None,
    config: str | None,
    min_severity: str | None,
    jobs: int | None,
    exclude: tuple[str, ...],
    max_file_size: int | None,
    no_gitignore: bool,
    staged: bool,
    history: bool,
    since: str | None,
    all_refs: bool,
    history_practices: bool,
    diff: str | None,
    baseline: str | None,
    verify: bool,
    verify_base_url: str | None,
    verify_timeout: float | None,
    no_baseline: bool,
    kinds: frozenset[Any],
    changed_lines: bool,
    stdin_filename: str | None,
    quiet: bool,
    verbose: bool,
) -> None:
    """Scan files and directories for leaked credentials and unsafe OpenAI usage.

    PATHS are files or directories (default: the current directory); - (or /dev/stdin) scans standard
    input. Directories are walked honouring .gitignore and the configured excludes; files given by name
    are always scanned (this is what the pre-commit hook passes). Findings show secrets redacted.

    With --staged, the index content is scanned (line numbers refer to it). With --history, every blob
    ever committed in the selected range is scanned once and each finding names the commit that
    introduced it; PATHS may then be the repository directory and revision ranges (A..B). With
    --diff BASE, only what BASE..HEAD introduces: values (keys, identifiers) the touched files did not
    hold at BASE, and practice findings on the lines the commits add.

    With --verify (never the default), each distinct OpenAI key found is checked once against the
    API (GET /models; GET /organization/projects for admin keys), spaced and time-bounded; reports
    gain a `verification` field: live (with its organization and the declared environment that owns
    it), revoked or unknown. The key is sent only in the Authorization header and never printed.

    \b
    Exit codes: 0 no findings, 1 findings at or above --min-severity,
    2 usage or configuration error (or staged files none of which could be
    read), 3 internal error.
    """
    from prodguard.scanner.commands import ScanOptions
    from prodguard.scanner.commands import scan as run_scan

    options = ScanOptions(
        paths=paths,
        format=fmt,
        output=output,
        config=config,
        min_severity=min_severity,
        jobs=jobs,
        exclude=exclude,
        max_file_size=max_file_size,
        gitignore=False if no_gitignore else None,
        staged=staged,
        history=history,
        since=since,
        all_refs=all_refs,
        history_practices=history_practices,
        diff=diff,
        baseline=baseline,
        verify=verify,
        verify_base_url=verify_base_url,
        verify_timeout=verify_timeout,
        no_baseline=no_baseline,
        kinds=kinds,
        changed_lines=changed_lines,
        stdin_filename=stdin_filename,
        quiet=quiet,
        verbose=verbose,
    )
    _exit(lambda: run_scan(options))


@cli.command()
@click.argument("path", required=False, default=".", type=click.Path())
@click.option(
    "--format",
    "fmt",
    type=click.Choice(("text", "json", "html")),
    default="text",
    show_default=True,
    help="text for a terminal, json (schema in docs/report.md), html (one self-contained page).",
)
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write the report to this file.")
@click.option(
    "--config",
    type=click.Path(dir_okay=False),
    help="prodguard.toml or pyproject.toml to use (default: nearest one).",
)
@click.option(
    "--fail-on",
    type=click.Choice(("missing", "partly")),
    help="Exit 1 when a practice is missing (or, with partly, missing or partly met).",
)
def report(path: str, fmt: str, output: str | None, config: str | None, fail_on: str | None) -> None:
    """Production-readiness report: one row per practice of OpenAI's production and safety best
    practices, with its status, the evidence and the next step.

    PATH is the repository (default: the current directory). It is scanned as `prodguard scan`
    would, its configuration is read ([tool.prodguard], environments, guard policy), and its Python
    code is read for the controls in place (the guard installed with protect/install, output-token
    caps, end-user ids, moderation, retries). Excerpts are redacted as in scan reports.

    \b
    Statuses:
      met             the control the practice asks for is in place and
                      no finding goes against it
      partly          followed in part: a control configured incompletely
                      or only in some places, or findings below high
                      severity go against it
      missing         a high or critical finding goes against it, or
                      nothing shows the control it needs
      not_applicable  the repository does not do what the practice is
                      about (e.g. it never calls the OpenAI API)

    \b
    Exit codes: 0 report written (1 with --fail-on and a matching
    practice), 2 usage or configuration error, 3 internal error.
    """
    from prodguard.scanner.readiness.command import ReadinessOptions
    from prodguard.scanner.readiness.command import report as run

    _exit(lambda: run(ReadinessOptions(path=path, format=fmt, output=output, config=config, fail_on=fail_on)))


@cli.command()
@click.argument("directory", default=".", type=click.Path(file_okay=False))
@click.option("--force", is_flag=True, help="Replace files and the [tool.prodguard] section that exist.")
def init(directory: str, force: bool) -> None:
    """Set a repository up: a commented [tool.prodguard] section (environments inferred from its
    paths), a .pre-commit-config.yaml with the hooks, and a GitHub Actions workflow that uploads SARIF to
    code scanning. Nothing that exists is overwritten without --force; what was skipped is printed."""
    from prodguard.scanner.initialize import init as run

    _exit(lambda: run(directory, force, sys.stdout))


@cli.command()
@click.option("--env", "use_env", is_flag=True, help="Read OPENAI_API_KEY even when standard input is piped.")
def fingerprint(use_env: bool) -> None:
    """Print the fingerprint (sha256:…) of an API key, for key_fingerprints in [tool.prodguard.environments].

    The key is read from standard input when piped (`pass show openai/prod | prodguard fingerprint`),
    otherwise from OPENAI_API_KEY. It is never printed.
    """
    from prodguard.scanner.commands import fingerprint as run

    _exit(lambda: run(sys.stdin, os.environ, use_env=use_env))


@cli.group()
def hook() -> None:
    """Entry points for git hooks (used by .pre-commit-hooks.yaml)."""


@hook.command("pre-push")
@click.option("--config", type=click.Path(dir_okay=False), help="prodguard.toml or pyproject.toml to use.")
@click.option(
    "--baseline",
    type=click.Path(dir_okay=False),
    help="Do not report findings recorded in this baseline file [default: as for scan].",
)
@click.option("--kinds", callback=_parse_kinds, metavar="KINDS", help=KINDS_HELP)
def hook_pre_push(config: str | None, baseline: str | None, kinds: frozenset[Any]) -> None:
    """Scan the commits being pushed (PRE_COMMIT_FROM_REF..PRE_COMMIT_TO_REF, as pre-commit sets them;
    without them, everything not yet on a remote branch) and report what they introduce: secrets and
    identifiers the touched files did not hold before, practice findings on lines the commits add."""
    from prodguard.scanner.commands import ScanOptions, pre_push_revisions
    from prodguard.scanner.commands import scan as run_scan

    options = ScanOptions(
        paths=tuple(pre_push_revisions(os.environ)),
        history=True,
        new_only=True,
        config=config,
        baseline=baseline,
        kinds=kinds,
    )
    _exit(lambda: run_scan(options))


@cli.group()
def baseline() -> None:
    """Record known findings so that scans report only new ones."""


def _scan_source_options(function: Callable[..., None]) -> Callable[..., None]:
    for option in reversed(
        (
            click.argument("paths", nargs=-1, type=click.Path()),
            click.option(
                "--config", type=click.Path(dir_okay=False), help="prodguard.toml or pyproject.toml to use."
            ),
            click.option(
                "--history", is_flag=True, help="Scan the repository's history instead of the working tree."
            ),
            click.option("--all-refs", is_flag=True, help="With --history: every branch and tag."),
        )
    ):
        function = option(function)
    return function


@baseline.command("create")
@_scan_source_options
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False),
    help="Where to write it [default: .prodguard-baseline.json at the repository root, where scans find it].",
)
def baseline_create(
    paths: tuple[str, ...], config: str | None, history: bool, all_refs: bool, output: str | None
) -> None:
    """Scan and record every finding (rule, path, salted hash of the secret; never the secret itself)."""
    from prodguard.scanner.commands import ScanOptions
    from prodguard.scanner.commands import baseline_create as run

    _exit(lambda: run(ScanOptions(paths=paths, config=config, history=history, all_refs=all_refs), output))


@baseline.command("audit")
@_scan_source_options
@click.option(
    "--baseline",
    "baseline_path",
    type=click.Path(dir_okay=False),
    help="The baseline [default: the one scans use].",
)
@click.option("--prune", is_flag=True, help="Rewrite the baseline without entries that are no longer found.")
@click.option("--format", "fmt", type=click.Choice(("text", "json")), default="text", show_default=True)
def baseline_audit(
    paths: tuple[str, ...],
    config: str | None,
    history: bool,
    all_refs: bool,
    baseline_path: str | None,
    prune: bool,
    fmt: str,
) -> None:
    """List baseline entries with their current locations; entries no longer found are marked prunable."""
    from prodguard.scanner.commands import ScanOptions
    from prodguard.scanner.commands import baseline_audit as run

    options = ScanOptions(paths=paths, config=config, history=history, all_refs=all_refs)
    _exit(lambda: run(options, baseline_path, prune, fmt))


@cli.group()
def rules() -> None:
    """List and explain the rules."""


@rules.command("list")
@click.option("--format", "fmt", type=click.Choice(("text", "json")), default="text", show_default=True)
@click.option("--config", type=click.Path(dir_okay=False), help="Include the user packs this config names.")
def rules_list(fmt: str, config: str | None) -> None:
    """List every rule: id, severity, kind, title."""
    from prodguard.scanner.commands import rules_list as run

    _exit(lambda: run(fmt, config))


@rules.command("show")
@click.argument("rule_id")
@click.option("--config", type=click.Path(dir_okay=False), help="Include the user packs this config names.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(("text", "markdown")),
    default="text",
    show_default=True,
    help="text: rendered for the terminal; markdown: the page source (as in docs/rules/).",
)
def rules_show(rule_id: str, config: str | None, fmt: str) -> None:
    """Explain one rule: what it finds, why it matters, an example and the fix."""
    from prodguard.scanner.commands import rules_show as run

    _exit(lambda: run(rule_id, config, fmt))


@cli.group()
def logs() -> None:
    """Read, verify and maintain the encrypted audit log.

    \b
    Keys come from PRODGUARD_LOG_KEYS (id:base64, newest first), the file named
    by PRODGUARD_LOG_KEY_FILE, or --key-file (mode 0600). Exit codes: 0 fine,
    1 verification failed, 2 usage, configuration or key error.
    """


def _log_options(function: Callable[..., None]) -> Callable[..., None]:
    for option in reversed(
        (
            click.option(
                "--dir",
                "directory",
                type=click.Path(file_okay=False),
                help="Audit log directory [default: the policy's, or .prodguard/audit].",
            ),
            click.option(
                "--config", type=click.Path(dir_okay=False), help="prodguard.toml or pyproject.toml to use."
            ),
            click.option(
                "--key-file",
                type=click.Path(dir_okay=False),
                help="Key file (mode 0600) instead of the environment.",
            ),
        )
    ):
        function = option(function)
    return function


@logs.command("show")
@_log_options
@click.option(
    "--since", help="Only records from this time on: an ISO date/time (UTC) or a duration back (2h, 7d)."
)
@click.option("--format", "fmt", type=click.Choice(("text", "json")), default="text", show_default=True)
@click.option("--system", is_flag=True, help="Also show checkpoints (purge, rotation, crash recovery).")
def logs_show(
    directory: str | None, config: str | None, key_file: str | None, since: str | None, fmt: str, system: bool
) -> None:
    """Print the decrypted records, oldest first."""
    run = _lazy("prodguard.guard._commands.logs", "logs_show")

    _exit(
        lambda: run(
            directory=directory, config=config, key_file=key_file, since=since, fmt=fmt, system=system
        )
    )


@logs.command("verify")
@_log_options
@click.option("--format", "fmt", type=click.Choice(("text", "json")), default="text", show_default=True)
@click.option(
    "--expect-head", metavar="SEQ:LINK", help="A head printed by an earlier verify; detects truncation."
)
def logs_verify(
    directory: str | None, config: str | None, key_file: str | None, fmt: str, expect_head: str | None
) -> None:
    """Check every segment and record; exit 1 naming the exact segment and record of any tampering."""
    run = _lazy("prodguard.guard._commands.logs", "logs_verify")

    _exit(
        lambda: run(directory=directory, config=config, key_file=key_file, fmt=fmt, expect_head=expect_head)
    )


@logs.command("keygen")
@click.option("--id", "key_id", help="Key id (default: k<date>-<random>).")
@click.option(
    "--key-file",
    type=click.Path(dir_okay=False),
    help="Add the key first in this file (created with mode 0600) instead of printing it.",
)
def logs_keygen(key_id: str | None, key_file: str | None) -> None:
    """Generate a new audit log key."""
    run = _lazy("prodguard.guard._commands.logs", "logs_keygen")

    _exit(lambda: run(key_id=key_id, key_file=key_file))


@logs.command("rotate")
@_log_options
def logs_rotate(directory: str | None, config: str | None, key_file: str | None) -> None:
    """Re-encrypt older segments under the newest key (atomically, one segment at a time)."""
    run = _lazy("prodguard.guard._commands.logs", "logs_rotate")

    _exit(lambda: run(directory=directory, config=config, key_file=key_file))


@logs.command("purge")
@_log_options
@click.option("--older-than", metavar="AGE", help="e.g. 30d, at least 1d [default: the policy's retention_days].")
def logs_purge(
    directory: str | None, config: str | None, key_file: str | None, older_than: str | None
) -> None:
    """Remove whole segments older than AGE, recording the purge as a signed checkpoint."""
    run = _lazy("prodguard.guard._commands.logs", "logs_purge")

    _exit(lambda: run(directory=directory, config=config, key_file=key_file, older_than=older_than))


@cli.command()
@click.option("--config", type=click.Path(dir_okay=False), help="prodguard.toml or pyproject.toml to use.")
@click.option("--format", "fmt", type=click.Choice(("text", "json")), default="text", show_default=True)
def usage(config: str | None, fmt: str) -> None:
    """Show current spend and remaining budget per scope (from the guard's state backend)."""
    run = _lazy("prodguard.guard._commands.usage", "usage")

    _exit(lambda: run(config, fmt, sys.stdout))


def _lazy(module: str, name: str) -> Callable[..., int]:
    """A command function of an optional part, imported when called (inside ``_exit``)."""

    def call(*args: object, **options: object) -> int:
        import importlib

        function: Callable[..., int] = getattr(importlib.import_module(module), name)
        return function(*args, **options)

    return call


def _exit(command: Callable[[], int]) -> None:
    """Run a command and turn its outcome into an exit code; the one error handler of the CLI."""
    try:
        code = command()
    except ProdguardError as exc:
        click.echo(f"prodguard: error: {exc}", err=True)
        code = EXIT_USAGE
    except KeyboardInterrupt:
        click.echo("prodguard: interrupted", err=True)
        code = EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (``prodguard scan | head``); nothing left to tell.
        sys.stderr.close()
        code = 0
    except Exception as exc:  # the crash handler: a short report instead of a traceback
        if isinstance(exc, ModuleNotFoundError) and (exc.name or "").split(".")[0] in OPTIONAL_MODULES:
            click.echo(f"prodguard: error: {MissingDependency(exc.name or '')}", err=True)  # a core-only install
            sys.exit(EXIT_USAGE)
        if os.environ.get("PRODGUARD_DEBUG"):
            raise
        click.echo(
            f"prodguard: internal error ({type(exc).__name__}): {exc}\n"
            "This is a bug in prodguard. Re-run with PRODGUARD_DEBUG=1 for a traceback and report it.",
            err=True,
        )
        code = EXIT_CRASH
    sys.exit(code)


def main() -> None:
    cli(prog_name="prodguard")
