"""Nightly worker: summarizes the day's closed tickets for the search index."""

import json
import logging
import os
import sys

from openai import OpenAI

log = logging.getLogger("helpdesk.worker")

# The SDK's own retries (exponential backoff, honouring retry-after) stay on: a 429 at 3 a.m. waits.
client = OpenAI(
    organization=os.environ["OPENAI_ORG_ID"],
    project=os.environ["OPENAI_PROJECT_ID"],
    max_retries=5,
    timeout=30,
)


def summarize(ticket: dict[str, str]) -> str:
    response = client.responses.create(
        model=os.environ.get("OPENAI_MODEL", "gpt-4o-mini"),
        instructions="Summarize this support ticket in two sentences for a search index.",
        input=ticket["body"],
        max_output_tokens=160,
    )
    usage = response.usage
    log.debug("summary of %s: %s tokens", ticket["id"], usage.total_tokens if usage else "?")
    return response.output_text


def main() -> None:
    tickets = [json.loads(line) for line in sys.stdin]
    for ticket in tickets:
        print(json.dumps({"id": ticket["id"], "summary": summarize(ticket)}))


if __name__ == "__main__":
    main()
