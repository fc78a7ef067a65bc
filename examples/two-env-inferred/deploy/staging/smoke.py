"""Post-deploy check on staging. The pod's environment is .env.staging, which sets OPENAI_ORG_ID and
OPENAI_PROJECT_ID; the SDK reads them, so this client is bound to staging's organization and project."""

from openai import OpenAI

client = OpenAI(timeout=20)

if __name__ == "__main__":
    reply = client.responses.create(model="gpt-4o-mini", input="Reply with the word ready.", max_output_tokens=5)
    raise SystemExit(0 if "ready" in reply.output_text.lower() else 1)
