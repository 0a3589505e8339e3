"""LLM spend: prices, the cost of a call, and whether the month's budget allows another."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Price:
    """USD per million tokens."""

    input_per_million: float
    output_per_million: float

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (
            prompt_tokens * self.input_per_million + completion_tokens * self.output_per_million
        ) / 1_000_000


# Published list prices (USD per 1M tokens). An unknown model is priced like the most expensive
# one here, so a misconfigured model name can only make the cap stricter, never looser.
DEFAULT_PRICES: Mapping[str, Price] = {
    "gpt-4o-mini": Price(0.15, 0.60),
    "gpt-4.1-mini": Price(0.40, 1.60),
    "gpt-4.1-nano": Price(0.10, 0.40),
    "gpt-4o": Price(2.50, 10.00),
    "gpt-4.1": Price(2.00, 8.00),
    "text-embedding-3-small": Price(0.02, 0.0),
    "text-embedding-3-large": Price(0.13, 0.0),
}
UNKNOWN_MODEL_PRICE = Price(2.50, 10.00)


def price_for(model: str, prices: Mapping[str, Price] = DEFAULT_PRICES) -> Price:
    if model in prices:
        return prices[model]
    # Dated snapshots ("gpt-4o-mini-2024-07-18") cost what their family costs.
    family = max((name for name in prices if model.startswith(name)), key=len, default=None)
    return prices[family] if family else UNKNOWN_MODEL_PRICE


def month_of(moment: datetime) -> str:
    return moment.strftime("%Y-%m")


def estimate_tokens(text: str) -> int:
    """A deliberately high estimate (about 3 characters a token; English averages nearer 4),
    used only to decide before a call whether the budget can take it."""
    return len(text) // 3 + 16


def within_budget(spent: float, estimate: float, budget: float) -> bool:
    """A call is allowed only if it cannot push this month's spend past the budget."""
    return spent + estimate <= budget
