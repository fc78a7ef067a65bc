"""Support bot: a small FastAPI service in front of the OpenAI API."""
