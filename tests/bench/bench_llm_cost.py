"""Issue 5 (NFR5): tokens and cost of the LLM per assessment, with the real prompts.

A typical assessment's three essays come from the shipped question bank, each answered with
about as many words as its reference answer. The essay-scoring call is built exactly as the
service builds it, counted with gpt-4o-mini's tokenizer (o200k_base, from bpe-openai), and also
made through the real openai client against the fake server, whose usage figures use the same
tokenizer. The completion is a realistic answer of the request's schema (every rubric criterion
with a one-line justification, and 2-3 sentences of feedback, per essay).

The explanation call of the FUSION stage and the retrieval queries' embeddings are added.

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


def realistic_completion(tasks: list[EssayTask]) -> str:
    """An answer of the request's schema: every essay by id, every criterion of its rubric."""
    justification = "Covers the main idea correctly but leaves out one of the key points."
    feedback = (
        "You explained the core idea clearly and used the right terms. You did not mention "
        "how the approach behaves when it fails; add that and one concrete example next time."
    )
    return json.dumps({
        "essays": {
            f"E{n}": {"criteria": {
                c.name: {"justification": justification, "score": 0.75} for c in task.rubric
            }, "feedback": feedback}
            for n, task in enumerate(tasks, start=1)
        }
    })  # fmt: skip


def counted(tasks: list[EssayTask]) -> tuple[int, int]:
    ids = [f"E{n}" for n in range(1, len(tasks) + 1)]
    messages = build_messages(tasks, ids)
    schema = json.dumps(response_schema(tasks, ids))
    prompt = sum(count_tokens(m["content"]) + PER_MESSAGE for m in messages) + PRIMING
    # Structured outputs send the schema too; count it as prompt.
    prompt += count_tokens(schema)
    return prompt, count_tokens(realistic_completion(tasks))


def fusion_counted() -> tuple[int, int, int]:
    """The explanation call for a typical profile: the ranking's 3 picks, each with its two
    best catalog passages; plus the tokens of the profile's retrieval queries (embeddings)."""
    from domain import fusion_prompt
    from domain.recommend import Evidence, rank
    from domain.retrieval import chunks_of, queries_for
    from tests.bench.recommend import candidate_of, catalog, entry_of, load_cases

    case = load_cases()[0]
    candidates = []
    for spec in catalog():
        passages = [c.snippet for c in chunks_of(entry_of(spec))[1:3]]
        base = candidate_of(spec)
        candidates.append(
            type(base)(**{**base.__dict__, "evidence": tuple(Evidence(p, 0.6) for p in passages)})
        )
    picks = rank(candidates, case.profile, case.track)
    messages = fusion_prompt.build_messages(picks, case.profile, case.track)
    prompt = sum(count_tokens(m["content"]) + PER_MESSAGE for m in messages) + PRIMING
    slugs = [p.scored.candidate.slug for p in picks]
    prompt += count_tokens(json.dumps(fusion_prompt.response_schema(slugs)))
    reason = (
        "It builds the networking basics you scored lowest in, at a beginner level, "
        "and its labs prepare you for the next step."
    )
    completion = json.dumps({
        "summary": "Your results show networking as the area to build first, and you are keen "
                   "on security. These credentials start with the foundations and lead "
                   "towards security, at a pace that suits a beginner.",
        "reasons": {slug: reason for slug in slugs},
    })  # fmt: skip
    embedded = sum(count_tokens(q.text) for q in queries_for(case.profile, case.track))
    return prompt, count_tokens(completion), embedded


async def through_the_client(tasks: list[EssayTask], var: Path) -> dict[str, Any]:
    from settings import Settings

    url = f"sqlite+aiosqlite:///{var / 'cost.db'}"
    await upgrade_async(url)
    database = Database(create_engine(url))
    try:
        async with fake_openai() as fake:
            fake.responder = lambda request: json.loads(realistic_completion(tasks))
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
    fusion_prompt_tokens, fusion_completion, embedded = fusion_counted()
    fusion = price.cost(fusion_prompt_tokens, fusion_completion)
    embedding = price_for("text-embedding-3-small").cost(embedded, 0)
    print(f"recommendation explanations, one call: {fusion_prompt_tokens} prompt + "
          f"{fusion_completion} completion tokens = ${fusion:.6f}")  # fmt: skip
    print(f"retrieval queries (text-embedding-3-small): {embedded} tokens = ${embedding:.8f}")
    per_assessment = max(cost, served["cost"]) + fusion + embedding
    monthly = BUDGET_USD / per_assessment
    print(f"=> ${per_assessment:.5f} per assessment: {monthly:,.0f} assessments a month within "
          f"${BUDGET_USD:.0f} (target >= {TARGET_PER_MONTH:,})")  # fmt: skip
