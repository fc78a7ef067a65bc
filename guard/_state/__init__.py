"""Shared state for budgets, rate limits and the cache: the backend interface and its memory, SQLite and Redis backends."""
