"""Topic expert endpoints: answers questions about a product line the caller chooses.

Planted practice problems (each reported): the caller's topic goes into the system prompt (PG311), the
moderation verdict is fetched and never read (PG312), the client has no timeout while serving requests
(PG314), and a parsed structured output is used without checking for a refusal (PG315).
"""

from fastapi import APIRouter
from openai import OpenAI
from pydantic import BaseModel

from app.settings import settings

router = APIRouter()
experts = OpenAI(organization=settings.openai_org_id, project=settings.openai_project_id)


class Summary(BaseModel):
    title: str
    bullet_points: list[str]


@router.post("/v1/topics/{topic}/answers")
def topic_answer(topic: str, question: str) -> str:
    try:
        experts.moderations.create(model="omni-moderation-latest", input=question)
        completion = experts.chat.completions.create(
            model=settings.openai_model,
            max_completion_tokens=400,
            safety_identifier="anonymous",
            messages=[
                {"role": "system", "content": f"You are the Acme expert on {topic}."},
                {"role": "user", "content": question},
            ],
        )
    except Exception as exc:
        raise RuntimeError("the expert is unavailable") from exc
    return completion.choices[0].message.content or ""


@router.post("/v1/topics/{topic}/summary")
def topic_summary(topic: str, text: str) -> list[str]:
    try:
        completion = experts.chat.completions.parse(
            model=settings.openai_model,
            max_completion_tokens=400,
            safety_identifier="anonymous",
            messages=[{"role": "user", "content": text}],
            response_format=Summary,
        )
    except Exception as exc:
        raise RuntimeError("the expert is unavailable") from exc
    summary = completion.choices[0].message.parsed
    return summary.bullet_points
