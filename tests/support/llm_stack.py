"""A stack whose LLM (and embeddings) is the fake OpenAI-compatible server, reached through the
real openai client: the API under uvicorn, and on PostgreSQL an arq worker beside it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.client import GraphQLClient, register_and_login
from tests.support.db import rows, uuid_param
from tests.support.fake_openai import FakeOpenAI, fake_openai
from tests.support.flows import SAVE, START, valid_answer
from tests.support.pipeline import RESULT, wait_for_status
from tests.support.stacks import Server, provision
from tests.support.worker import running_worker


@dataclass
class LlmStack:
    server: Server
    client: GraphQLClient
    fake: FakeOpenAI

    @property
    def services(self) -> Any:
        return self.server.pipeline_services

    async def submit(
        self, essay_suffix: str = "", essay_answer: str | None = None
    ) -> tuple[Any, dict[str, Any]]:
        """A new student answers every question (essays genuinely, or with `essay_answer`,
        and `essay_suffix` appended) and submits."""
        student = await register_and_login(self.client)
        body = await self.client.data(START, {"input": {"track": "general"}}, student.token)
        assessment = body["startAssessment"]["assessment"]
        responses = []
        for question in assessment["questions"]:
            answer = valid_answer(question)
            if question["type"] == "ESSAY":
                answer = (answer if essay_answer is None else essay_answer) + essay_suffix
            responses.append({"questionId": question["id"], "answer": answer})
        saved = await self.client.data(
            SAVE,
            {"input": {"assessmentId": assessment["id"], "responses": responses,
                       "isFinalChunk": True}},
            student.token,
        )  # fmt: skip
        assert saved["saveResponses"]["errors"] == [], saved
        return student, assessment

    async def result(self, student: Any, assessment: dict[str, Any]) -> dict[str, Any]:
        await wait_for_status(self.client, student.token, assessment["id"], {"DONE"}, timeout=60)
        body = await self.client.data(RESULT, {"id": assessment["id"]}, student.token)
        return body["result"]  # type: ignore[no-any-return]

    async def usage(
        self, assessment: dict[str, Any], purpose: str = "essays"
    ) -> list[dict[str, Any]]:
        """The assessment's llm_usage rows of one purpose (essays, fusion)."""
        return await rows(
            self.server,
            "SELECT purpose, prompt_tokens, completion_tokens, cost_usd FROM llm_usage "
            "WHERE assessment_id = :a AND purpose = :p ORDER BY created_at",
            a=uuid_param(self.server, assessment["id"]),
            p=purpose,
        )

    def reset(self) -> None:
        self.fake.script.clear()
        self.fake.requests.clear()
        self.fake.embedding_requests.clear()
        self.fake.embeddings_status = 200
        self.fake.grade = 0.8
        self.fake.responder = None


@asynccontextmanager
async def llm_stack(name: str, tmp: Path, **overrides: Any) -> AsyncIterator[LlmStack]:
    async with provision(name, tmp) as stack, fake_openai() as fake:
        settings = stack.settings(
            openai_api_key="test-key",
            openai_base_url=fake.base_url,
            llm_timeout_seconds=1.0,
            llm_max_attempts=3,
            **overrides,
        )
        server = Server(settings)
        await server.start()
        client = GraphQLClient(server.base_url)
        try:
            if settings.redis_url:
                async with running_worker(settings) as worker:
                    server.worker = worker
                    yield LlmStack(server, client, fake)
            else:
                yield LlmStack(server, client, fake)
        finally:
            await client.aclose()
            await server.stop()
