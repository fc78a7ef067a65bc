"""One-off: embed old tickets for the search index, in the environment the shell is configured for."""

import json
import os
import sys

from openai import OpenAI

client = OpenAI(organization=os.environ["OPENAI_ORG_ID"], project=os.environ["OPENAI_PROJECT_ID"])


def embed(texts: list[str]) -> list[list[float]]:
    result = client.embeddings.create(model="text-embedding-3-small", input=texts)
    return [item.embedding for item in result.data]


if __name__ == "__main__":
    rows = [json.loads(line) for line in sys.stdin]
    vectors = embed([row["body"] for row in rows])
    print(f"embedded {len(vectors)} tickets")
