"""FastAPI: moderation judged per handler, a streaming generator nested in a route, **kwargs dicts, an
aliased create, errors handled in one route and not in another."""

import hashlib

import openai
from fastapi import BackgroundTasks, FastAPI, HTTPException
from fastapi.responses import StreamingResponse
from openai import AsyncOpenAI, OpenAI

app = FastAPI()
# ruleid: PG314
# ruleid: PG207
client = OpenAI()
# ruleid: PG314
# ruleid: PG207
aclient = AsyncOpenAI(max_retries=3)


def safety_id(user_id: str) -> str:
    return hashlib.sha256(user_id.encode()).hexdigest()


@app.post("/moderated")
def moderated(question: str, user_id: str):
    if client.moderations.create(model="omni-moderation-latest", input=question).results[0].flagged:
        raise HTTPException(400, "rejected")
    try:
        # ok: PG306, PG308, PG309
        reply = client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": question}],
            max_completion_tokens=300,
            safety_identifier=safety_id(user_id),
        )
    except openai.APIError:
        raise HTTPException(502, "unavailable") from None
    return {"answer": reply.choices[0].message.content}


@app.post("/unmoderated")
def unmoderated(question: str):
    # ruleid: PG308, PG309, PG313
    reply = client.responses.create(model="gpt-4o-mini", input=question, max_output_tokens=300)
    return {"answer": reply.output_text}


@app.post("/stream")
def stream(question: str):
    def generate():
        # ruleid: PG306, PG308, PG309, PG313
        for chunk in client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": question}], stream=True
        ):
            yield chunk.choices[0].delta.content or ""

    return StreamingResponse(generate(), media_type="text/plain")


@app.post("/kwargs")
async def with_kwargs(question: str):
    params = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": question}]}
    try:
        # ruleid: PG306, PG308, PG309
        return await aclient.chat.completions.create(**params)
    except openai.RateLimitError:
        raise HTTPException(429, "busy") from None


@app.post("/kwargs-capped")
async def with_capped_kwargs(question: str):
    params = {"model": "gpt-4o-mini", "input": question, "max_output_tokens": 200, "safety_identifier": "anon"}
    try:
        # ok: PG306, PG309
        # ruleid: PG308
        return await aclient.responses.create(**params)
    except openai.APIError:
        raise HTTPException(502, "unavailable") from None


def options_from_elsewhere(**options):
    # ok: PG306
    return client.chat.completions.create(**options)


@app.post("/alias")
def aliased(question: str):
    create = client.chat.completions.create
    try:
        # ruleid: PG306, PG308, PG309
        return create(model="gpt-4o-mini", messages=[{"role": "user", "content": question}])
    except openai.APIError:
        raise HTTPException(502, "unavailable") from None


def summarize_ticket(text: str) -> None:
    # ruleid: PG308, PG309, PG313
    client.responses.create(model="gpt-4o-mini", input=text, max_output_tokens=100)


@app.post("/tickets")
def create_ticket(text: str, background_tasks: BackgroundTasks):
    background_tasks.add_task(summarize_ticket, text)
    return {"queued": True}


def nightly_digest(rows: list[str]) -> str:
    # ok: PG308, PG309, PG313
    return client.responses.create(model="gpt-4o-mini", input="\n".join(rows), max_output_tokens=500).output_text


# ok: PG308, PG309
WARMUP = client.responses.create(model="gpt-4o-mini", input="ping", max_output_tokens=1)
