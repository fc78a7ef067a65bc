"""Support-chat API written along OpenAI's production and safety best practices: configuration from the
environment, TLS, the SDK's retries, a timeout, API errors answered, moderation, a hashed end-user id,
an output cap, metadata-only logs."""

import hashlib
import logging
import os

from fastapi import FastAPI, HTTPException
from openai import APIError, OpenAI
from pydantic import BaseModel

logger = logging.getLogger("support.chat")
app = FastAPI()

client = OpenAI(
    organization=os.environ["OPENAI_ORG_ID"],
    project=os.environ["OPENAI_PROJECT_ID"],
    base_url=os.environ.get("OPENAI_BASE_URL", "https://api.openai.com/v1"),
    max_retries=4,
    timeout=30,
)
SYSTEM_PROMPT = "You are a support assistant for Acme routers. Answer briefly."
ID_SALT = os.environ["SAFETY_ID_SALT"]


class Question(BaseModel):
    customer_id: str
    text: str


def safety_id(customer_id: str) -> str:
    return hashlib.sha256(f"{ID_SALT}:{customer_id}".encode()).hexdigest()


def draft_answer(text: str, customer_id: str) -> str:
    verdict = client.moderations.create(model="omni-moderation-latest", input=text)
    if verdict.results[0].flagged:
        raise HTTPException(status_code=400, detail="message rejected by content policy")
    try:
        completion = client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[
                {"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": text},
            ],
            max_completion_tokens=400,
            safety_identifier=safety_id(customer_id),
        )
    except APIError as exc:  # the SDK has retried with backoff already; tell the user to come back later
        raise HTTPException(status_code=503, detail="the assistant is unavailable, try again") from exc
    usage = completion.usage
    logger.info(
        "completion %s model=%s tokens=%s finish=%s",
        completion.id,
        completion.model,
        usage.total_tokens if usage else "?",
        completion.choices[0].finish_reason,
    )
    return completion.choices[0].message.content or ""


@app.post("/v1/support/answer")
def answer(question: Question) -> dict[str, str]:
    return {"answer": draft_answer(question.text, question.customer_id)}
