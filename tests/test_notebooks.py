"""Jupyter notebooks: findings stand at the line and column of the ``.ipynb`` file, and name the cell and
the line within it (source first, then text outputs); image payloads are never scanned, notebook metadata is reported at the file's own line, and a file that
is not notebook JSON is scanned as plain text with a notice."""

from __future__ import annotations

import base64
import json
import random
from pathlib import Path
from typing import Any

import pytest
from fakekeys import ALNUM, body, legacy_user_key, project_key, service_account_key

from prodguard.scanner.blob import Blob
from prodguard.scanner.engine import Engine


@pytest.fixture
def rng() -> random.Random:
    return random.Random(1234)


def _code(source: list[str] | str, outputs: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "cell_type": "code",
        "execution_count": 1,
        "metadata": {},
        "outputs": outputs or [],
        "source": source,
    }


def _notebook(cells: list[dict[str, Any]], metadata: dict[str, Any] | None = None) -> str:
    document = {
        "cells": cells,
        "metadata": metadata if metadata is not None else {"kernelspec": {"name": "python3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return json.dumps(document, indent=1) + "\n"


def _scan(run_cli: Any, root: Path, *args: str) -> dict[str, Any]:
    result = run_cli("scan", ".", "--format", "json", *args, cwd=root)
    assert result.exit_code in (0, 1), result.output
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def _where(document: dict[str, Any]) -> list[tuple[str, int | None, int, str]]:
    return [
        (f["path"], f.get("cell"), f.get("cell_line", f["line"]), f["rule_id"]) for f in document["findings"]
    ]


def _at_file_position(raw: str, finding: dict[str, Any]) -> str:
    """The notebook's own text from where ``finding`` says it starts, to the end of that line."""
    return raw.splitlines()[finding["line"] - 1][finding["column"] - 1 :]


def _azure_identifiable_key(rng: random.Random) -> str:
    """An 84-character Azure AI services key in Microsoft's identifiable format (PG121): alphanumeric
    only, so inside base64 text it is delimited by ``+`` and ``/`` and a raw scan would find it."""
    return body(rng, ALNUM, 52) + "JQQJ9" + rng.choice("9ABCD") + body(rng, ALNUM, 26)


def test_cell_source_and_text_output_name_cell_and_line(
    run_cli: Any, tmp_path: Path, rng: random.Random
) -> None:
    in_source, in_output, in_html, in_error = (
        legacy_user_key(rng),
        project_key(rng),
        service_account_key(rng),
        project_key(rng),
    )
    cells = [
        {"cell_type": "markdown", "metadata": {}, "source": ["# Experiments\n", "\n", "Notes."]},
        _code(["import openai\n", "\n", f'openai.api_key = "{in_source}"\n', "MODEL = 'gpt-4o-mini'"]),
        _code(
            ["client = OpenAI()\n", "print(client.api_key)"],
            [{"name": "stdout", "output_type": "stream", "text": ["ready\n", f"{in_output}\n"]}],
        ),
        _code(
            "show_config()",  # source as one string, as some tools write it
            [
                {
                    "output_type": "execute_result",
                    "execution_count": 3,
                    "metadata": {},
                    "data": {"text/html": [f"<pre>key: {in_html}</pre>"], "text/plain": ["<Config>"]},
                }
            ],
        ),
        _code(
            "call()",
            [
                {
                    "output_type": "error",
                    "ename": "AuthenticationError",
                    "evalue": "401",
                    "traceback": ["AuthenticationError: 401\n", f"Incorrect API key provided: {in_error}"],
                }
            ],
        ),
    ]
    raw = _notebook(cells)
    (tmp_path / "experiments.ipynb").write_text(raw)
    document = _scan(run_cli, tmp_path)
    # The file's line and column point at the key in the .ipynb text, as code-scanning annotates it.
    for finding, key in zip(document["findings"], (in_source, in_output, in_html, in_error), strict=True):
        assert _at_file_position(raw, finding).startswith(key)
        assert raw.splitlines()[finding["end_line"] - 1][finding["end_column"] - 2] == key[-1]
    assert _where(document) == [
        ("experiments.ipynb", 1, 3, "PG101"),  # third line of the cell's source
        ("experiments.ipynb", 2, 4, "PG102"),  # source has 2 lines; output line 2 is the cell's line 4
        ("experiments.ipynb", 3, 3, "PG103"),  # after the source and the text/plain rendering: the HTML
        ("experiments.ipynb", 4, 3, "PG102"),  # the error's traceback
    ]
    first = document["findings"][0]
    assert first["cell_column"] == len('openai.api_key = "') + 1
    assert first["excerpt"] == f'openai.api_key = "sk-…{in_source[-4:]}"'
    text = run_cli("scan", ".", cwd=tmp_path).stdout
    assert "cell 1:3:19" in text and "cell 2:4:1" in text
    assert f"{first['line']}:{first['column']} (cell 1:3:19)" in text
    for key in (in_source, in_output, in_html, in_error):
        assert key not in text


def test_markdown_cell_is_scanned(run_cli: Any, tmp_path: Path, rng: random.Random) -> None:
    key = project_key(rng)
    cells = [
        {"cell_type": "markdown", "metadata": {}, "source": ["Set it:\n", f"`export OPENAI_API_KEY={key}`"]}
    ]
    (tmp_path / "readme.ipynb").write_text(_notebook(cells))
    assert _where(_scan(run_cli, tmp_path)) == [("readme.ipynb", 0, 2, "PG102")]


def test_base64_image_output_is_not_scanned(
    run_cli: Any, engine: Engine, tmp_path: Path, rng: random.Random
) -> None:
    hidden = _azure_identifiable_key(rng)
    noise = bytes(rng.randrange(256) for _ in range(3000))
    payload = base64.b64encode(noise).decode()
    image = payload[:2000] + "+" + hidden + "/" + payload[2000:]
    cells = [
        _code(
            ["plt.plot(xs)"],
            [
                {
                    "output_type": "display_data",
                    "metadata": {},
                    "data": {"image/png": image, "text/plain": ["<Figure size 640x480 with 1 Axes>"]},
                }
            ],
        )
    ]
    raw = _notebook(cells)
    (tmp_path / "plots.ipynb").write_text(raw)
    # The same bytes scanned raw would report the image payload: the test input is meaningful.
    assert [f.rule_id for f in engine.scan(Blob("plots.ipynb", raw.encode()))] == ["PG121"]
    document = _scan(run_cli, tmp_path)
    assert document["findings"] == []
    assert document["notices"] == []


def test_notebook_metadata_is_reported_at_the_file_line(
    run_cli: Any, tmp_path: Path, rng: random.Random
) -> None:
    key = project_key(rng)
    raw = _notebook([_code(["x = 1"])], {"kernelspec": {"name": "python3", "env": {"OPENAI_API_KEY": key}}})
    (tmp_path / "kernel.ipynb").write_text(raw)
    lines = raw.splitlines()
    line = next(n for n, text in enumerate(lines, start=1) if key in text)
    (finding,) = _scan(run_cli, tmp_path)["findings"]
    assert (finding["path"], finding.get("cell"), finding["line"]) == ("kernel.ipynb", None, line)
    assert finding["column"] == lines[line - 1].index(key) + 1
    assert finding["excerpt"] == f'"OPENAI_API_KEY": "sk-proj-…{key[-4:]}"'


def test_inline_allow_in_a_cell(run_cli: Any, tmp_path: Path, rng: random.Random) -> None:
    key = project_key(rng)
    cells = [_code([f'KEY = "{key}"  # prodguard: allow PG102 -- revoked demo key'])]
    (tmp_path / "demo.ipynb").write_text(_notebook(cells))
    document = _scan(run_cli, tmp_path)
    assert document["findings"] == []
    assert [(f["cell"], f["cell_line"], f["suppressed"]) for f in document["suppressed"]] == [
        (0, 1, "inline allow: revoked demo key")
    ]


@pytest.mark.parametrize(
    "content",
    [
        '{"cells": [{"cell_type": "code", "source": ["KEY = \\"@KEY@\\""]',  # truncated JSON
        '[{"cell_type": "code", "source": ["KEY = \\"@KEY@\\""]}]',  # JSON, but not a notebook
        'KEY = "@KEY@"\n',  # a Python file with the wrong extension
    ],
    ids=["truncated", "not-a-notebook", "not-json"],
)
def test_invalid_notebook_is_scanned_raw_with_a_notice(
    run_cli: Any, tmp_path: Path, rng: random.Random, content: str
) -> None:
    key = project_key(rng)
    (tmp_path / "broken.ipynb").write_text("\n" + content.replace("@KEY@", key))
    document = _scan(run_cli, tmp_path)
    (finding,) = document["findings"]
    assert (finding["path"], finding["line"], finding["rule_id"]) == ("broken.ipynb", 2, "PG102")
    assert "cell" not in finding
    assert [(n["path"], n["category"], n["message"]) for n in document["notices"]] == [
        ("broken.ipynb", "notebook", "not valid notebook JSON; scanned as plain text")
    ]
    assert "notice: broken.ipynb: not valid notebook JSON" in run_cli("scan", ".", cwd=tmp_path).stdout


def test_notebook_without_keywords_is_clean_and_silent(run_cli: Any, tmp_path: Path) -> None:
    (tmp_path / "clean.ipynb").write_text(_notebook([_code(["print('hello')"])]))
    (tmp_path / "empty-ish.ipynb").write_text("{}")
    document = _scan(run_cli, tmp_path)
    assert document["findings"] == [] and document["notices"] == []
    assert document["stats"]["files_scanned"] == 2


def test_positions_count_json_escapes_and_single_string_sources(
    run_cli: Any, tmp_path: Path, rng: random.Random
) -> None:
    key = project_key(rng)
    cells = [
        # One string holding several lines, with escapes (quotes, a tab, non-ASCII) before the key.
        _code('print("caf\u00e9")\nheaders = {"X-Note": "\tq\\"}; KEY = "' + key + '"\n'),
    ]
    raw = json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, indent=1)
    (tmp_path / "escaped.ipynb").write_text(raw)
    document = _scan(run_cli, tmp_path)
    [finding] = document["findings"]
    assert _at_file_position(raw, finding).startswith(key)
    assert (finding["cell"], finding["cell_line"]) == (0, 2)
    sarif = json.loads(run_cli("scan", ".", "--format", "sarif", cwd=tmp_path).stdout)
    [result] = sarif["runs"][0]["results"]
    region = result["locations"][0]["physicalLocation"]["region"]
    assert (region["startLine"], region["startColumn"]) == (finding["line"], finding["column"])
    assert result["properties"]["notebookCell"] == 0 and result["properties"]["cellLine"] == 2
    assert result["locations"][0]["logicalLocations"][0]["name"] == "cell 0, line 2"


def test_duplicate_keys_fall_back_to_cell_positions(run_cli: Any, tmp_path: Path, rng: random.Random) -> None:
    """A notebook whose JSON repeats a key cannot be mapped string by string: positions stay in the cell."""
    key = project_key(rng)
    raw = (
        '{"cells": [{"cell_type": "code", "metadata": {}, "metadata": {}, "outputs": [], '
        f'"source": ["x = 1\\n", "KEY = \\"{key}\\""]}}], "metadata": {{}}, "nbformat": 4, "nbformat_minor": 5}}'
    )
    (tmp_path / "dup.ipynb").write_text(raw)
    [finding] = _scan(run_cli, tmp_path)["findings"]
    assert (finding["cell"], finding["line"]) == (0, 2)
    assert "cell_line" not in finding
