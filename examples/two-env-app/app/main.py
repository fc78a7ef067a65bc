"""Helpdesk assistant API: drafts an answer to a customer's question."""

import logging

import httpx
from fastapi import FastAPI
from openai import OpenAI
from pydantic import BaseModel

from app.settings import settings

logger = logging.getLogger("helpdesk.api")
app = FastAPI(title="helpdesk-assistant")

client = OpenAI(
    organization=settings.openai_org_id,
    project=settings.openai_project_id,
    base_url="http://llm-proxy.acme-corp.net/v1",
    http_client=httpx.Client(verify=False, timeout=30),
)
SYSTEM_PROMPT = "You are the Acme helpdesk assistant. Answer in at most five sentences."


class Question(BaseModel):
    customer_id: str
    text: str


class Answer(BaseModel):
    answer: str


@app.post("/v1/answers")
def draft_answer(question: Question) -> Answer:
    messages = [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": question.text},
    ]
    logger.info("question from %s: %s", question.customer_id, messages)
    completion = client.chat.completions.create(model=settings.openai_model, messages=messages)
    reply = completion.choices[0].message.content or ""
    logger.debug("reply: %s", reply)
    return Answer(answer=reply)


@app.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok", "environment": settings.app_env}
