"""Issue 5 (NFR5): tokens and cost of the LLM per assessment, with the real prompts.

A typical assessment's three essays come from the shipped question bank, each answered with
about as many words as its reference answer. The essay-scoring call is built exactly as the
service builds it, counted with gpt-4o-mini's tokenizer (o200k_base, from bpe-openai), and also
made through the real openai client against the fake server, whose usage figures use the same
tokenizer. The completion is a realistic answer of the schema (3 criteria with one-line
justifications and 2-3 sentences of feedback per essay).

Target: at least 2,000 assessments a month within $5 at gpt-4o-mini prices.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from db.database import Database, create_engine
from db.migrate import upgrade_async
from domain.budget import price_for
from domain.essay_prompt import build_messages, response_schema
from domain.essays import EssayTask
from domain.questions import QuestionType
from jobs.llm import LlmClient, openai_client
from jobs.scoring import LlmScorer, LocalScorer
from seeds.loader import DEFAULT_FILES, parse
from tests.bench.harness import header
from tests.support.fake_openai import count_tokens, fake_openai
from tests.support.stacks import StackConfig

BUDGET_USD = 5.0
TARGET_PER_MONTH = 2000
# OpenAI's chat format adds a few tokens per message and to prime the reply.
PER_MESSAGE, PRIMING = 4, 3


def typical_tasks() -> list[EssayTask]:
    """One essay from each of three domains, answered at the reference answer's length."""
    data = parse({"questions": DEFAULT_FILES["questions"]})
    essays = [spec for _, spec in data.questions if spec.type is QuestionType.ESSAY]
    chosen = {}
    for spec in essays:
        chosen.setdefault(spec.domain, spec)
    picked = [chosen[d] for d in ("databases", "networking", "programming")]
    return [
        EssayTask(
            key=str(uuid.uuid4()),
            prompt=spec.prompt,
            answer=spec.reference_answer or "",
            reference_answer=spec.reference_answer,
            key_points=spec.key_points,
            rubric=spec.rubric,
        )
        for spec in picked
    ]


def realistic_completion(count: int) -> str:
    justification = "Covers the main idea correctly but leaves out one of the key points."
    feedback = (
        "You explained the core idea clearly and used the right terms. You did not mention "
        "how the approach behaves when it fails; add that and one concrete example next time."
    )
    return json.dumps({
        "essays": [
            {"id": f"E{n}", "feedback": feedback, "criteria": [
                {"name": name, "score": 0.75, "justification": justification}
                for name in ("clarity", "accuracy", "coherence")
            ]}
            for n in range(1, count + 1)
        ]
    })  # fmt: skip


def counted(tasks: list[EssayTask]) -> tuple[int, int]:
    ids = [f"E{n}" for n in range(1, len(tasks) + 1)]
    messages = build_messages(tasks, ids)
    schema = json.dumps(response_schema())
    prompt = sum(count_tokens(m["content"]) + PER_MESSAGE for m in messages) + PRIMING
    # Structured outputs send the schema too; count it as prompt.
    prompt += count_tokens(schema)
    return prompt, count_tokens(realistic_completion(len(tasks)))


async def through_the_client(tasks: list[EssayTask], var: Path) -> dict[str, Any]:
    from settings import Settings

    url = f"sqlite+aiosqlite:///{var / 'cost.db'}"
    await upgrade_async(url)
    database = Database(create_engine(url))
    try:
        async with fake_openai() as fake:
            fake.responder = lambda request: json.loads(realistic_completion(len(tasks)))
            settings = Settings(openai_api_key="bench", openai_base_url=fake.base_url, var_dir=var)
            client = openai_client(settings)
            llm = LlmClient(client, settings, database)
            scorer = LlmScorer(llm, LocalScorer(backend=False), settings.llm_essay_max_tokens)
            await scorer.score(tasks, assessment_id=None, call_key="bench")  # type: ignore[arg-type]
            assert client is not None
            await client.close()
        async with database.read() as session:
            from sqlalchemy import text

            row = (await session.execute(text(
                "SELECT prompt_tokens, completion_tokens, cost_usd FROM llm_usage"
            ))).one()  # fmt: skip
        return {"prompt": row[0], "completion": row[1], "cost": float(row[2])}
    finally:
        await database.dispose()


async def run(stack: StackConfig) -> None:
    header("LLM cost per assessment (gpt-4o-mini prices, real prompts)")
    tasks = typical_tasks()
    prompt, completion = counted(tasks)
    price = price_for("gpt-4o-mini")
    cost = price.cost(prompt, completion)
    served = await through_the_client(tasks, stack.var_dir)
    print(f"essay scoring, 3 essays in one call: {prompt} prompt + {completion} completion "
          f"tokens = ${cost:.6f} (o200k_base count)")  # fmt: skip
    print(f"the same call through the openai client, usage reported by the server: "
          f"{served['prompt']} + {served['completion']} tokens "
          f"= ${served['cost']:.6f}")  # fmt: skip
    per_assessment = max(cost, served["cost"])
    # FUSION (recommendation explanations) is one more call when an LLM is configured: see
    # the recommend benchmark for its measured size; until then this is the essays alone.
    monthly = BUDGET_USD / per_assessment
    print(f"=> ${per_assessment:.5f} per assessment: {monthly:,.0f} assessments a month within "
          f"${BUDGET_USD:.0f} (target >= {TARGET_PER_MONTH:,})")  # fmt: skip
