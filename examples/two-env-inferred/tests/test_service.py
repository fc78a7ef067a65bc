"""Triage against a recorded response (no network)."""

import json
from pathlib import Path

import httpx
import respx

RECORDED = json.loads((Path(__file__).parent / "fixtures" / "recorded_classification.json").read_text())


@respx.mock
def test_ticket_is_routed_to_the_recorded_queue(monkeypatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "test-key-not-used")
    respx.post("https://api.openai.com/v1/responses").mock(
        return_value=httpx.Response(200, json=RECORDED["response"]["body"])
    )
    from triage.service import route

    assert route({"id": "T-88", "subject": "Invoice twice", "body": "I was charged twice in May."}) == "billing"
