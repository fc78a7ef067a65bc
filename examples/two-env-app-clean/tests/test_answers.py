"""The answer endpoint, against a recorded OpenAI response (no network)."""

import httpx
import respx
from fastapi.testclient import TestClient


@respx.mock
def test_answer_returns_the_model_reply(recorded_completion: dict) -> None:
    from app.main import app

    respx.post("https://api.openai.com/v1/moderations").mock(
        return_value=httpx.Response(200, json={"id": "modr-1", "model": "omni-moderation-latest", "results": [{"flagged": False}]})
    )
    respx.post("https://api.openai.com/v1/chat/completions").mock(
        return_value=httpx.Response(200, json=recorded_completion["response"]["body"])
    )
    reply = TestClient(app).post("/v1/answers", json={"customer_id": "c-1042", "text": "My router blinks red."})
    assert reply.status_code == 200
    assert reply.json()["answer"].startswith("Restart the router")


def test_health() -> None:
    from app.main import app

    assert TestClient(app).get("/healthz").json()["status"] == "ok"
