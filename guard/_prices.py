"""What a call costs: a price table per model (USD per million tokens), overridable in the policy.

Costs are counted in integer nano-dollars (1e-9 USD) everywhere state is shared, so that counters add
exactly in SQLite, Redis and Lua (whose numbers are doubles: exact integers up to 2**53 nano-USD, about
nine million dollars per counter) and never drift the way summed floats do.

The built-in table follows OpenAI's published standard-tier prices (checked 2025-08); prices change, so
``[tool.prodguard.guard.accounting.prices]`` overrides or extends it per model. A dated snapshot
(``gpt-4o-mini-2024-07-18``) takes the price of its longest listed prefix.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from prodguard.guard._policy.limits import ModelPrice

NANO_PER_USD = 1_000_000_000
# USD per 1M tokens x 1000 = nano-USD per token.
_NANO_PER_TOKEN_PER_USD_PER_MILLION = 1000

BUILTIN_PRICES: Mapping[str, ModelPrice] = {
    "gpt-5": ModelPrice(input=1.25, cached_input=0.125, output=10.00),
    "gpt-5-mini": ModelPrice(input=0.25, cached_input=0.025, output=2.00),
    "gpt-5-nano": ModelPrice(input=0.05, cached_input=0.005, output=0.40),
    "gpt-4.1": ModelPrice(input=2.00, cached_input=0.50, output=8.00),
    "gpt-4.1-mini": ModelPrice(input=0.40, cached_input=0.10, output=1.60),
    "gpt-4.1-nano": ModelPrice(input=0.10, cached_input=0.025, output=0.40),
    "gpt-4o": ModelPrice(input=2.50, cached_input=1.25, output=10.00),
    "gpt-4o-mini": ModelPrice(input=0.15, cached_input=0.075, output=0.60),
    "o1": ModelPrice(input=15.00, cached_input=7.50, output=60.00),
    "o3": ModelPrice(input=2.00, cached_input=0.50, output=8.00),
    "o3-mini": ModelPrice(input=1.10, cached_input=0.55, output=4.40),
    "o4-mini": ModelPrice(input=1.10, cached_input=0.275, output=4.40),
    "gpt-4-turbo": ModelPrice(input=10.00, output=30.00),
    "gpt-3.5-turbo": ModelPrice(input=0.50, output=1.50),
    "text-embedding-3-small": ModelPrice(input=0.02),
    "text-embedding-3-large": ModelPrice(input=0.13),
    "text-embedding-ada-002": ModelPrice(input=0.10),
    "omni-moderation-latest": ModelPrice(input=0.0),
}


class PriceTable:
    """Prices by model: the policy's overrides first, then the built-in table, by exact name or prefix."""

    def __init__(self, overrides: Mapping[str, ModelPrice] | None = None) -> None:
        self._prices = {**BUILTIN_PRICES, **(overrides or {})}
        # Longest first, so that "gpt-4o-mini-2024-07-18" finds gpt-4o-mini before gpt-4o.
        self._prefixes = sorted(self._prices, key=len, reverse=True)
        self._resolved: dict[str, ModelPrice | None] = {}

    def price_of(self, model: str) -> ModelPrice | None:
        if model in self._resolved:
            return self._resolved[model]
        found = self._prices.get(model)
        if found is None:
            found = next((self._prices[p] for p in self._prefixes if model.startswith(p + "-")), None)
        self._resolved[model] = found
        return found

    def cost_nano(self, model: str, input_tokens: int, output_tokens: int, cached_tokens: int = 0) -> int | None:
        """The cost of a call in nano-USD, rounded up; None when the model has no price."""
        price = self.price_of(model)
        if price is None:
            return None
        cached = min(max(cached_tokens, 0), input_tokens)
        cached_rate = price.cached_input if price.cached_input is not None else price.input
        usd_per_million = (
            (input_tokens - cached) * price.input + cached * cached_rate + output_tokens * price.output
        )
        return math.ceil(usd_per_million * _NANO_PER_TOKEN_PER_USD_PER_MILLION - 1e-6)


def usd(nano: int) -> float:
    return nano / NANO_PER_USD


def nano(dollars: float) -> int:
    return math.floor(dollars * NANO_PER_USD + 1e-6)
