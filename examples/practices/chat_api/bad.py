"""Support-chat API: every OpenAI code-practice problem a web service tends to collect (see EXPECTED.json)."""

import logging

import httpx
from fastapi import FastAPI
from openai import OpenAI
from pydantic import BaseModel

logger = logging.getLogger("support.chat")
app = FastAPI()

client = OpenAI(
    organization="org-6FdV75zCirOpcgBpSXpIBKua",
    project="proj_8d3zPqgMC2G38xUgGKh7akPc",
    base_url="http://llm-proxy.acme-corp.com/v1",
    http_client=httpx.Client(verify=False),
    max_retries=0,
)
SYSTEM_PROMPT = "You are a support assistant for Acme routers. Answer briefly."


class Question(BaseModel):
    customer_id: str
    text: str


def draft_answer(text: str) -> str:
    messages = [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": text},
    ]
    logger.debug("prompt: %s", messages)
    completion = client.chat.completions.create(model="gpt-4o-mini", messages=messages)
    answer = completion.choices[0].message.content or ""
    logger.info("answer: %s", answer)
    return answer


@app.post("/v1/support/answer")
def answer(question: Question) -> dict[str, str]:
    return {"answer": draft_answer(question.text)}
