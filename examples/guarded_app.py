"""The two-line integration of the runtime guard, runnable against the local test server.

    python examples/guarded_app.py

In an application the two lines are the import and ``protect(OpenAI())``; the rest of the code keeps
using the official SDK. Here the client points at prodguard's local OpenAI-compatible server so the
example runs offline and shows what actually left the process.
"""

from __future__ import annotations

import secrets
import string

from openai import OpenAI

from prodguard.guard import Policy, end_user, protect
from prodguard.guard.testing import FakeOpenAI


def sample_key() -> str:
    """A random key in the format of a real OpenAI project key (it is not one): a look-alike in a wrong
    format would pass through untouched and prove nothing. Built at run time so no key sits in the file."""
    alphabet = string.ascii_letters + string.digits + "-_"
    part = lambda n: "".join(secrets.choice(alphabet) for _ in range(n))  # noqa: E731
    return f"sk-proj-{part(74)}T3BlbkFJ{part(74)}"


def main() -> None:
    with FakeOpenAI() as upstream:
        # 1. and 2.: wrap the client. Policy.load() would read [tool.prodguard.guard]; here it is inline.
        client = protect(
            OpenAI(base_url=upstream.base_url, api_key="sk-local-example"),
            Policy.from_mapping({"moderation": {"fail": "closed"}}),
        )
        prompt = (
            "Please email Maria Gonzalez at maria.gonzalez@example.org or call +44 20 7946 0958 about "
            f"the deploy key {sample_key()} ."
        )
        with end_user("customer-42"):  # sent as a salted hash (safety_identifier)
            answer = client.chat.completions.create(
                model="gpt-4.1-mini", messages=[{"role": "user", "content": prompt}], max_completion_tokens=200
            )
        print("what the model received:")
        print("  ", upstream.last("/v1/chat/completions").body["messages"][0]["content"])
        print("what the application received:")
        print("  ", answer.choices[0].message.content)


if __name__ == "__main__":
    main()
