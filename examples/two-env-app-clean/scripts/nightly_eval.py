"""Nightly answer-quality evaluation through the company LLM gateway (run by the eval CronJob)."""

import json
import os
import sys
from pathlib import Path

from openai import OpenAI

client = OpenAI(api_key=os.environ["LLM_GATEWAY_KEY"], base_url="https://llm-gateway.acme-corp.net/v1")

GRADER = "Grade the answer from 1 to 5 for correctness against the reference. Reply with the digit only."


def grade(case: dict[str, str]) -> int:
    response = client.responses.create(
        model="gpt-4o-mini",
        instructions=GRADER,
        input=f"Question: {case['question']}\nReference: {case['reference']}\nAnswer: {case['answer']}",
        max_output_tokens=2,
    )
    return int(response.output_text.strip() or 0)


if __name__ == "__main__":
    cases = [json.loads(line) for line in Path(sys.argv[1]).read_text().splitlines()]
    scores = [grade(case) for case in cases]
    print(f"mean grade {sum(scores) / len(scores):.2f} over {len(scores)} cases")
