"""Routes each new support ticket to a queue (billing, technical, account, other)."""

import json
import os
import sys

from openai import OpenAI

QUEUES = ("billing", "technical", "account", "other")
INSTRUCTIONS = "Classify the support ticket into one of: " + ", ".join(QUEUES) + ". Reply with the queue name only."

client = OpenAI(timeout=15)


def route(ticket: dict[str, str]) -> str:
    response = client.responses.create(
        model=os.environ.get("TRIAGE_MODEL", "gpt-4o-mini"),
        instructions=INSTRUCTIONS,
        input=f"Subject: {ticket['subject']}\n\n{ticket['body']}",
        max_output_tokens=5,
    )
    queue = response.output_text.strip().lower()
    return queue if queue in QUEUES else "other"


if __name__ == "__main__":
    for line in sys.stdin:
        ticket = json.loads(line)
        sys.stdout.write(json.dumps({"id": ticket["id"], "queue": route(ticket)}) + "\n")
