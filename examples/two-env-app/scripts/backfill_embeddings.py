"""One-off: embed old tickets for the search index (run by hand from a laptop)."""

import json
import sys

from openai import OpenAI

client = OpenAI(organization="org-gNErUF3sz6VfQmmuYCpJWocZ")


def embed(texts: list[str]) -> list[list[float]]:
    result = client.embeddings.create(model="text-embedding-3-small", input=texts)
    return [item.embedding for item in result.data]


if __name__ == "__main__":
    rows = [json.loads(line) for line in sys.stdin]
    vectors = embed([row["body"] for row in rows])
    print(f"embedded {len(vectors)} tickets")
