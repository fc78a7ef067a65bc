"""Every example in ``examples/`` is run by a test, and stays true: this module lists which test runs
each one (a new example without a test fails here) and runs the runnable ones."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from tests.conftest import REPO_ROOT

EXAMPLES = REPO_ROOT / "examples"
# example -> the test module that runs it.
RUN_BY = {
    "guarded_app.py": "tests/test_examples_run.py",
    "leaky-app": "tests/test_example_app.py",
    "practices": "tests/test_practices.py",
    "two-env-app": "tests/test_example_environments.py",
    "two-env-app-clean": "tests/test_example_environments.py",
    "two-env-inferred": "tests/test_example_environments.py",
}


def test_every_example_is_run_by_a_test() -> None:
    present = {p.name for p in EXAMPLES.iterdir() if not p.name.startswith((".", "__"))}
    assert present == set(RUN_BY)
    for example, module in RUN_BY.items():
        assert example in (REPO_ROOT / module).read_text("utf-8"), f"{module} does not mention {example}"


def test_guarded_app_keeps_the_key_and_personal_data_in_the_process() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / "guarded_app.py")],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    sent = lines[lines.index("what the model received:") + 1]
    received = lines[lines.index("what the application received:") + 1]
    # The key (a valid-format project key made at run time) never left the process, nor any part of it.
    assert "[REDACTED:openai-project-key]" in sent
    assert not re.search(r"sk-proj-\S", proc.stdout + proc.stderr)
    # Personal data was pseudonymized on the way out and restored in the answer.
    assert "Maria Gonzalez" not in sent and "maria.gonzalez@example.org" not in sent and "7946" not in sent
    assert {"<PERSON_1>", "<EMAIL_ADDRESS_1>", "<PHONE_NUMBER_1>"} <= set(re.findall(r"<[A-Z_]+_\d>", sent))
    assert "Maria Gonzalez" in received and "maria.gonzalez@example.org" in received
