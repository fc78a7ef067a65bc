"""Hand-written HTTP calls to the REST API, the legacy Completions API, a client passed in as a parameter,
and metadata-only logging of dict responses."""

import logging
import os

import httpx
import requests

log = logging.getLogger(__name__)
URL = "https://api.openai.com/v1/chat/completions"
HEADERS = {"Authorization": f"Bearer {os.environ['OPENAI_API_KEY']}"}


def ask(question: str) -> str:
    payload = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": question}]}
    # ruleid: PG306
    response = requests.post(URL, json=payload, headers=HEADERS, timeout=30).json()
    # ok: PG307
    log.info("usage %s model %s", response["usage"], response.get("model"))
    # ruleid: PG307
    log.info("answer %s", response["choices"][0]["message"]["content"])
    return response["choices"][0]["message"]["content"]


async def ask_async(question: str) -> str:
    async with httpx.AsyncClient(timeout=30) as http:
        # ok: PG306
        response = await http.post(
            "https://api.openai.com/v1/responses",
            json={"model": "gpt-4o-mini", "input": question, "max_output_tokens": 200},
            headers=HEADERS,
        )
    return response.json()["output"][0]["content"][0]["text"]


def complete(client, prompt: str) -> str:
    # ok: PG306
    legacy = client.completions.create(model="gpt-3.5-turbo-instruct", prompt=prompt)
    # ruleid: PG306
    chat = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=[])
    return legacy.choices[0].text + chat.parse().choices[0].message.content
