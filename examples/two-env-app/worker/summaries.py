"""Nightly worker: summarizes the day's closed tickets for the search index."""

import json
import logging
import os
import sys

from openai import OpenAI

log = logging.getLogger("helpdesk.worker")

# The batch must finish before the morning shift: fail fast instead of waiting on retries.
client = OpenAI(max_retries=0, timeout=30)


def summarize(ticket: dict[str, str]) -> str:
    response = client.responses.create(
        model=os.environ.get("OPENAI_MODEL", "gpt-4o-mini"),
        instructions="Summarize this support ticket in two sentences for a search index.",
        input=ticket["body"],
    )
    log.debug("summary of %s: %s", ticket["id"], response.output_text)
    return response.output_text


def main() -> None:
    tickets = [json.loads(line) for line in sys.stdin]
    for ticket in tickets:
        print(json.dumps({"id": ticket["id"], "summary": summarize(ticket)}))


if __name__ == "__main__":
    main()
