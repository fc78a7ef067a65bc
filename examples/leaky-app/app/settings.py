"""Settings read from the environment (the right way; compare with main.py's fallback)."""

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    openai_api_key: str | None = os.getenv("OPENAI_API_KEY")
    model: str = os.getenv("OPENAI_MODEL", "gpt-4o-mini")
    max_output_tokens: int = int(os.getenv("MAX_OUTPUT_TOKENS", "512"))


settings = Settings()
