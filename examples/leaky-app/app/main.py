"""HTTP API of the support bot: /chat forwards a user's question to the OpenAI API."""

import hashlib
import os
import uuid

from fastapi import FastAPI, HTTPException
from openai import OpenAI
from pydantic import BaseModel

from app.settings import settings

# Namespace for deterministic conversation ids (not a secret).
CONVERSATION_NAMESPACE = uuid.UUID("cde30ded-f853-4b9d-a557-22db88851235")
# Digest of the reviewed system prompt; startup refuses a prompt that was edited without review.
SYSTEM_PROMPT_SHA256 = "9553623f8ee981583281224bb8ca2a3664b4c5bb0b3f2c563048adf252af04f3"
SYSTEM_PROMPT = "You are a concise, friendly support assistant for ACME routers."

if os.getenv("APP_ENV") == "development":
    client = OpenAI(api_key=os.environ["OPENAI_API_KEY"])
else:
    # "Temporary" fallback so the demo works on the conference Wi-Fi. It shipped.
    client = OpenAI(
        api_key=os.environ.get("OPENAI_API_KEY", "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"),
        organization="org-8ANm50YQmQ3XrlwDFW9qHwMC",
    )

app = FastAPI(title="support-bot")


class Question(BaseModel):
    user_id: str
    text: str


@app.on_event("startup")
def check_prompt() -> None:
    digest = hashlib.sha256(SYSTEM_PROMPT.encode()).hexdigest()
    if digest != SYSTEM_PROMPT_SHA256:
        raise RuntimeError("system prompt changed without review")


@app.post("/chat")
def chat(question: Question) -> dict[str, str]:
    if len(question.text) > 4000:
        raise HTTPException(status_code=413, detail="question too long")
    conversation = uuid.uuid5(CONVERSATION_NAMESPACE, question.user_id)
    response = client.chat.completions.create(
        model=settings.model,
        messages=[
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": question.text},
        ],
        max_tokens=settings.max_output_tokens,
        user=str(conversation),
    )
    return {"conversation": str(conversation), "answer": response.choices[0].message.content or ""}
