"""Helpdesk assistant API: drafts an answer to a customer's question.

Organization and project come from the deployment's environment, the connection is TLS-verified, the
SDK's retries stay on (and API errors become a 503, not a crash), every question is moderated, answers are capped, requests carry a hashed end-user
id, and logs hold metadata only.
"""

import hashlib
import logging

from fastapi import FastAPI, HTTPException
import openai
from openai import OpenAI
from pydantic import BaseModel

from app.settings import settings

logger = logging.getLogger("helpdesk.api")
app = FastAPI(title="helpdesk-assistant")

client = OpenAI(
    organization=settings.openai_org_id,
    project=settings.openai_project_id,
    base_url=settings.openai_base_url,
    timeout=30,
)
SYSTEM_PROMPT = "You are the Acme helpdesk assistant. Answer in at most five sentences."


class Question(BaseModel):
    customer_id: str
    text: str


class Answer(BaseModel):
    answer: str


def safety_id(customer_id: str) -> str:
    return hashlib.sha256(f"{settings.safety_id_salt}:{customer_id}".encode()).hexdigest()


@app.post("/v1/answers")
def draft_answer(question: Question) -> Answer:
    verdict = client.moderations.create(model="omni-moderation-latest", input=question.text)
    if verdict.results[0].flagged:
        raise HTTPException(status_code=400, detail="question rejected by the content policy")
    try:
        completion = client.chat.completions.create(
            model=settings.openai_model,
            messages=[
                {"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": question.text},
            ],
            max_completion_tokens=settings.max_answer_tokens,
            safety_identifier=safety_id(question.customer_id),
        )
    except openai.APIError as exc:
        logger.warning("completion failed: %s", type(exc).__name__)
        raise HTTPException(status_code=503, detail="the assistant is unavailable, try again") from exc
    usage = completion.usage
    logger.info(
        "completion %s model=%s tokens=%s finish=%s",
        completion.id,
        completion.model,
        usage.total_tokens if usage else "?",
        completion.choices[0].finish_reason,
    )
    return Answer(answer=completion.choices[0].message.content or "")


@app.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok", "environment": settings.app_env}
