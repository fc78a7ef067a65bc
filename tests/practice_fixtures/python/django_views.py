"""Django: views take ``request``; a Celery task enqueued by a view processes the visitor's text."""

from celery import shared_task
from django.http import JsonResponse
from openai import AzureOpenAI

# ok: PG314
client = AzureOpenAI(api_version="2024-10-21", timeout=30)


@shared_task
def translate(text: str) -> str:
    # ruleid: PG308, PG309, PG313
    return client.responses.create(model="gpt-4o-mini", input=text, max_output_tokens=400).output_text


@shared_task
def weekly_report() -> str:
    # ok: PG308, PG309
    return client.responses.create(model="gpt-4o-mini", input="report", max_output_tokens=400).output_text


def submit(request):
    translate.delay(request.POST["text"])
    return JsonResponse({"queued": True})
