"""Post-deploy smoke check, run by the release pipeline inside the production pod.

The pod's environment comes from .env.production, which sets OPENAI_ORG_ID and OPENAI_PROJECT_ID; the
SDK reads them, so the client below is bound to the production organization and project.
"""

import sys

from openai import OpenAI


def main() -> int:
    client = OpenAI(timeout=20)
    response = client.responses.create(model="gpt-4o-mini", input="Reply with the word ready.", max_output_tokens=5)
    ok = "ready" in response.output_text.lower()
    print(f"smoke check {'passed' if ok else 'failed'} (response {response.id})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
