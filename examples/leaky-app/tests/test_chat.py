"""Tests run against the recorded cassette; the client never needs a real key."""

from fastapi.testclient import TestClient


def test_chat_answers(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-proj-test")
    monkeypatch.setenv("APP_ENV", "development")
    from app.main import app

    response = TestClient(app).post("/chat", json={"user_id": "u1", "text": "Hello"})
    assert response.status_code == 200
