"""Flask: functions reading the global ``request`` are handlers even without a route decorator; user
input in the system prompt; a moderation result ignored; structured outputs and their refusal."""

import logging

from flask import Flask, abort, request
from openai import OpenAI
from pydantic import BaseModel

log = logging.getLogger(__name__)
app = Flask(__name__)
# ok: PG314
# ruleid: PG207
client = OpenAI(timeout=20.0)


class Ticket(BaseModel):
    title: str
    priority: int


@app.errorhandler(Exception)
def failed(exc):
    return {"error": "unavailable"}, 502


def answer_from_form():
    text = request.form["text"]
    # ruleid: PG312
    verdict = client.moderations.create(model="omni-moderation-latest", input=text)
    log.info("moderation id %s", verdict.id)
    # ruleid: PG309
    return client.responses.create(model="gpt-4o-mini", input=text, max_output_tokens=200).output_text


def ignore_moderation():
    text = request.json["text"]
    # ruleid: PG312
    client.moderations.create(model="omni-moderation-latest", input=text)
    return "ok"


@app.post("/persona")
def persona():
    style = request.json["style"]
    if client.moderations.create(input=style).results[0].flagged:
        abort(400)
    completion = client.chat.completions.create(
        model="gpt-4o-mini",
        max_tokens=200,
        user="anonymous",
        messages=[
            # ruleid: PG311
            {"role": "system", "content": f"Answer in the style of {style}."},
            {"role": "user", "content": request.json["question"]},
        ],
    )
    # ok: PG307
    log.info("model=%s tokens=%s", completion.model, completion.usage.total_tokens)
    # ruleid: PG307
    log.info("answer: %s", completion.choices[0].message.content)
    return completion.choices[0].message.content


@app.post("/extract")
def extract():
    text = request.json["text"]
    if client.moderations.create(input=text).results[0].flagged:
        abort(400)
    # ruleid: PG315
    completion = client.chat.completions.parse(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": text}],
        response_format=Ticket,
        max_tokens=200,
        safety_identifier="anon",
    )
    return completion.choices[0].message.parsed.model_dump()


@app.post("/extract-checked")
def extract_checked():
    text = request.json["text"]
    if client.moderations.create(input=text).results[0].flagged:
        abort(400)
    # ok: PG315
    response = client.responses.parse(
        model="gpt-4o-mini", input=text, text_format=Ticket, max_output_tokens=200, safety_identifier="anon"
    )
    for item in response.output:
        for part in getattr(item, "content", []):
            if part.type == "refusal":
                abort(422, part.refusal)
    return response.output_parsed.model_dump()
