"""Nightly ticket-summary worker: key and organization from the environment, exponential backoff on rate
limits, a cap on every request, and only metadata in the logs."""

import logging
import os

import openai
from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_random_exponential

log = logging.getLogger("worker.summaries")

client = openai.OpenAI(
    api_key=os.environ["GATEWAY_API_KEY"],
    organization=os.environ["OPENAI_ORG_ID"],
    project=os.environ["OPENAI_PROJECT_ID"],
    max_retries=0,  # tenacity below owns retrying, with a longer budget for the nightly batch
)


@retry(
    retry=retry_if_exception_type((openai.RateLimitError, openai.APIConnectionError)),
    wait=wait_random_exponential(min=1, max=60),
    stop=stop_after_attempt(8),
)
def summarize(ticket: dict[str, str]) -> str:
    response = client.responses.create(
        model="gpt-4o-mini",
        instructions="Summarize the support ticket in two sentences.",
        input=ticket["body"],
        max_output_tokens=200,
    )
    usage = response.usage
    log.info("ticket %s summarized: %s tokens", ticket["id"], usage.total_tokens if usage else "?")
    return response.output_text


def run(tickets: list[dict[str, str]]) -> list[str]:
    return [summarize(ticket) for ticket in tickets]
