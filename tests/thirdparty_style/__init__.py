"""Stands in for a third-party library that builds its own OpenAI client deep inside (see test_guard)."""
