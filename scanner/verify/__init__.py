"""Opt-in verification of found OpenAI keys against the API (``prodguard scan --verify``)."""
