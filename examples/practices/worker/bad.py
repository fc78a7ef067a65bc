"""Nightly ticket-summary worker (legacy module-level client): a literal gateway key, retries off with no
backoff, uncapped requests and model output in the debug log."""

import logging

import openai

log = logging.getLogger("worker.summaries")

openai.api_key = "lgw_KLoTjd3kxBd7h0pQwbafBaWWVmZ5dMl3plKYayju"
openai.base_url = "https://llm-gateway.acme-corp.io/v1/"


def summarize(ticket: dict[str, str]) -> str:
    fast = openai.with_options(max_retries=0, timeout=20)
    response = fast.responses.create(
        model="gpt-4o-mini",
        instructions="Summarize the support ticket in two sentences.",
        input=ticket["body"],
    )
    log.debug(f"summary for {ticket['id']}: {response.output_text}")
    return response.output_text


def run(tickets: list[dict[str, str]]) -> list[str]:
    return [summarize(ticket) for ticket in tickets]
