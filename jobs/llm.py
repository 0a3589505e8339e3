"""The LLM behind the openai client (any OpenAI-compatible server via OPENAI_BASE_URL).

Every call goes through `complete_json` or `embed`, which enforce what NFR5 and the cost model
need:
- the monthly budget: a call that could push this month's spend past LLM_MONTHLY_BUDGET_USD is
  not made;
- the per-assessment cap: at most LLM_MAX_CALLS_PER_ASSESSMENT calls (attempts included);
- retries of our own (the client's are off): exponential backoff with jitter on 429, 5xx,
  timeouts and connection errors, honouring retry-after; an answer that fails validation is a
  failed attempt too;
- accounting: every attempt is a row in llm_usage with its tokens and cost, keyed by the job
  run, so a job that runs again never counts a call twice.
Callers get the parsed answer or LlmUnavailable, and fall back.
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar, cast

import openai
from openai.types.chat import ChatCompletionMessageParam
from openai.types.shared_params import ResponseFormatJSONSchema

from db.database import Database
from db.repositories import llm_usage
from db.types import utcnow
from domain.budget import Price, estimate_tokens, month_of, price_for, within_budget
from domain.essay_prompt import MalformedAnswer
from jobs.observability import metrics
from settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")
RETRY_AFTER_CAP_SECONDS = 30.0


class LlmUnavailable(Exception):
    """The LLM cannot be used for this call: not configured, over budget, over the
    assessment's call cap, or failing after its retries."""


def _retry_after(exc: openai.APIStatusError) -> float | None:
    headers = exc.response.headers
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        raw = headers.get(name)
        if raw:
            try:
                return float(raw) * scale
            except ValueError:
                return None
    return None


class LlmClient:
    def __init__(
        self,
        client: openai.AsyncOpenAI | None,
        settings: Settings,
        db: Database,
        rng: random.Random | None = None,
    ) -> None:
        self.client = client
        self.settings = settings
        self.db = db
        self.model = settings.llm_model
        self._rng = rng or random.Random()  # noqa: S311  (spreading retries, not secrecy)

    @property
    def configured(self) -> bool:
        return self.client is not None

    def price_of(self, model: str) -> Price:
        extra = {name: Price(*values) for name, values in self.settings.llm_prices.items()}
        return price_for(model, {**_defaults(), **extra})

    @property
    def price(self) -> Price:
        return self.price_of(self.model)

    async def spent_this_month(self) -> float:
        async with self.db.read() as session:
            return await llm_usage.month_spend(session, month_of(utcnow()))

    async def complete_json(
        self,
        *,
        messages: Sequence[Mapping[str, str]],
        schema_name: str,
        schema: dict[str, Any],
        max_tokens: int,
        purpose: str,
        assessment_id: uuid.UUID | None,
        call_key: str,
        parse: Callable[[str | None], T],
    ) -> T:
        client = self._client()
        response_format: ResponseFormatJSONSchema = {
            "type": "json_schema",
            "json_schema": {"name": schema_name, "strict": True, "schema": schema},
        }
        prompt_text = "".join(m["content"] for m in messages)

        async def send() -> tuple[T, int, int]:
            response = await client.chat.completions.create(
                model=self.model,
                # Our messages are plain role/content pairs: the client's TypedDict union
                # cannot be inferred from a Mapping, so it is named here.
                messages=cast("list[ChatCompletionMessageParam]", list(messages)),
                temperature=0,
                max_tokens=max_tokens,
                response_format=response_format,
            )
            usage = response.usage
            tokens = (
                usage.prompt_tokens if usage else estimate_tokens(prompt_text),
                usage.completion_tokens if usage else max_tokens,
            )
            content = response.choices[0].message.content if response.choices else None
            try:
                return parse(content), *tokens
            except MalformedAnswer as exc:
                raise _Malformed(str(exc), *tokens) from exc

        return await self._with_retries(
            send, model=self.model, purpose=purpose, assessment_id=assessment_id,
            call_key=call_key, prompt_text=prompt_text, max_tokens=max_tokens,
        )  # fmt: skip

    async def embed(
        self, texts: Sequence[str], *, model: str, purpose: str, call_key: str
    ) -> list[list[float]]:
        """Embeddings through the same budget, retries and accounting as chat calls. They
        belong to no assessment: the per-assessment cap counts the chat calls it names."""
        client = self._client()

        async def send() -> tuple[list[list[float]], int, int]:
            response = await client.embeddings.create(
                model=model, input=list(texts), encoding_format="float"
            )
            vectors = [item.embedding for item in sorted(response.data, key=lambda d: d.index)]
            if len(vectors) != len(texts):
                raise _Malformed(f"{len(vectors)} embeddings for {len(texts)} texts", 0, 0)
            tokens = response.usage.prompt_tokens if response.usage else 0
            return vectors, tokens or estimate_tokens("".join(texts)), 0

        return await self._with_retries(
            send, model=model, purpose=purpose, assessment_id=None, call_key=call_key,
            prompt_text="".join(texts), max_tokens=0,
        )  # fmt: skip

    def _client(self) -> openai.AsyncOpenAI:
        if self.client is None:
            raise LlmUnavailable("no LLM is configured (OPENAI_API_KEY)")
        return self.client

    async def _with_retries(
        self,
        send: Callable[[], Awaitable[tuple[T, int, int]]],
        *,
        model: str,
        purpose: str,
        assessment_id: uuid.UUID | None,
        call_key: str,
        prompt_text: str,
        max_tokens: int,
    ) -> T:
        """`send` makes one call and returns (answer, prompt tokens, completion tokens), or
        raises _Malformed for an answer that cannot be used (a failed attempt that still cost
        tokens)."""
        attempts = self.settings.llm_max_attempts
        for attempt in range(1, attempts + 1):
            await self._check_limits(assessment_id, prompt_text, max_tokens, model)
            key = f"{call_key}:{purpose}:{attempt}"
            try:
                answer, prompt_tokens, completion_tokens = await send()
            except (openai.APITimeoutError, openai.APIConnectionError) as exc:
                await self._record(key, assessment_id, purpose, model, 0, 0, "error")
                await self._wait_or_give_up(attempt, attempts, None, f"{type(exc).__name__}")
                continue
            except openai.APIStatusError as exc:
                await self._record(key, assessment_id, purpose, model, 0, 0, "error")
                if exc.status_code == 429 or exc.status_code >= 500:
                    await self._wait_or_give_up(
                        attempt, attempts, _retry_after(exc), f"HTTP {exc.status_code}"
                    )
                    continue
                raise LlmUnavailable(f"the LLM refused the call (HTTP {exc.status_code})") from exc
            except _Malformed as exc:
                await self._record(
                    key, assessment_id, purpose, model, exc.prompt_tokens,
                    exc.completion_tokens, "malformed",
                )  # fmt: skip
                await self._wait_or_give_up(attempt, attempts, None, f"malformed answer: {exc}")
                continue
            await self._record(
                key, assessment_id, purpose, model, prompt_tokens, completion_tokens, "ok"
            )
            return answer
        raise LlmUnavailable("the LLM failed after its retries")  # pragma: no cover

    async def _check_limits(
        self, assessment_id: uuid.UUID | None, prompt_text: str, max_tokens: int, model: str
    ) -> None:
        settings = self.settings
        async with self.db.read() as session:
            spent = await llm_usage.month_spend(session, month_of(utcnow()))
            calls = await llm_usage.calls_for(session, assessment_id) if assessment_id else 0
        if calls >= settings.llm_max_calls_per_assessment:
            raise LlmUnavailable(
                f"this assessment has used its {settings.llm_max_calls_per_assessment} LLM calls"
            )
        estimate = self.price_of(model).cost(estimate_tokens(prompt_text), max_tokens)
        if not within_budget(spent, estimate, settings.llm_monthly_budget_usd):
            raise LlmUnavailable(
                f"the monthly LLM budget (${settings.llm_monthly_budget_usd:.2f}) is spent"
            )

    async def _wait_or_give_up(
        self, attempt: int, attempts: int, retry_after: float | None, reason: str
    ) -> None:
        if attempt >= attempts or (retry_after or 0) > RETRY_AFTER_CAP_SECONDS:
            raise LlmUnavailable(f"the LLM failed after {attempt} attempt(s): {reason}")
        window = min(8.0, 0.5 * 2 ** (attempt - 1))
        backoff = self._rng.uniform(window / 2, window) * self.settings.retry_delay_scale
        await asyncio.sleep(max(retry_after or 0.0, backoff))

    async def _record(
        self,
        key: str,
        assessment_id: uuid.UUID | None,
        purpose: str,
        model: str,
        prompt_tokens: int,
        completion_tokens: int,
        outcome: str,
    ) -> None:
        cost = self.price_of(model).cost(prompt_tokens, completion_tokens)
        now = utcnow()
        async with self.db.transaction() as uow:
            await llm_usage.record(
                uow.session, call_key=key, assessment_id=assessment_id, purpose=purpose,
                model=model, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens,
                cost_usd=cost, month=month_of(now), now=now,
            )  # fmt: skip
        metrics().llm_calls.add(1, {"purpose": purpose, "outcome": outcome})
        if cost:
            metrics().llm_cost.add(cost, {"purpose": purpose})


class _Malformed(Exception):
    """An answer that arrived (and cost tokens) but cannot be used."""

    def __init__(self, reason: str, prompt_tokens: int, completion_tokens: int) -> None:
        super().__init__(reason)
        self.prompt_tokens = prompt_tokens
        self.completion_tokens = completion_tokens


def _defaults() -> dict[str, Price]:
    from domain.budget import DEFAULT_PRICES

    return dict(DEFAULT_PRICES)


def openai_client(settings: Settings) -> openai.AsyncOpenAI | None:
    """Built in open_services, like every network client. Its own retries are off: ours know
    about the budget, the call cap and retry-after."""
    if settings.openai_api_key is None:
        return None
    return openai.AsyncOpenAI(
        api_key=settings.openai_api_key.get_secret_value(),
        base_url=settings.openai_base_url,
        timeout=settings.llm_timeout_seconds,
        max_retries=0,
    )
