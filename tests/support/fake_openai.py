"""A fake OpenAI-compatible server for tests and benchmarks: a real HTTP server on loopback that
the real openai client talks to. Each chat request takes the next scripted behaviour (a status,
a delay, a raw body) or, with none left, grades like a sensible model would: every criterion of
every essay gets `grade` (a "gullible" model would give 1.0 to essays that ask for it; the
service must make sure it never sees such text). Usage is counted with gpt-4o-mini's tokenizer
(o200k_base) when bpe-openai is installed."""

from __future__ import annotations

import asyncio
import json
import random
import re
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.support.local_http import serving
from tests.support.stacks import free_port

ESSAY = re.compile(r'<essay id="(?P<id>E\d+)">\n(?P<text>.*?)\n</essay>', re.DOTALL)
SECTION = re.compile(r"## Essay (?P<id>E\d+)\n(?P<body>.*?)(?=\n## Essay |\Z)", re.DOTALL)
CRITERION = re.compile(r"^- (?P<name>[a-z0-9_-]+) \(weight", re.MULTILINE)


@cache
def _o200k() -> Any:
    try:
        import bpe_openai

        return bpe_openai.get_encoding("o200k_base")
    except Exception:  # a dev dependency; without it, a rough count
        return None


def count_tokens(text: str) -> int:
    encoding = _o200k()
    return len(encoding.encode(text)) if encoding is not None else max(1, len(text) // 4)


@dataclass
class Behaviour:
    """One scripted answer. `purpose` says which calls it applies to: "essays" (the default,
    so scripts written for essay scoring leave the explanation call alone) or "fusion"."""

    purpose: str = "essays"
    status: int = 200
    delay: float = 0.0
    body: str | None = None
    document: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class FakeOpenAI:
    port: int
    grade: float = 0.8
    gullible: bool = True
    script: deque[Behaviour] = field(default_factory=deque)
    requests: list[dict[str, Any]] = field(default_factory=list)
    responder: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    embedding_requests: list[dict[str, Any]] = field(default_factory=list)
    embeddings_status: int = 200  # anything else: every embeddings request fails with it
    # Seconds every unscripted chat answer takes, drawn uniformly (benchmarks: a real model's
    # 1-3 s, so the pipeline holds connections and jobs as long as it would in production).
    latency: tuple[float, float] = (0.0, 0.0)

    def next_behaviour(self, purpose: str) -> Behaviour:
        for behaviour in self.script:
            if behaviour.purpose == purpose:
                self.script.remove(behaviour)
                return behaviour
        return Behaviour(purpose=purpose)

    def fusion_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if purpose_of(r) == "fusion"]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def essays_in(self, request: dict[str, Any]) -> dict[str, str]:
        content = request["messages"][-1]["content"]
        return {m["id"]: m["text"] for m in ESSAY.finditer(content)}

    def answer_for(self, request: dict[str, Any]) -> dict[str, Any]:
        if self.responder is not None:
            return self.responder(request)
        content = request["messages"][-1]["content"]
        if purpose_of(request) == "fusion":
            return {
                "summary": "These credentials build on your profile.",
                "items": [{"id": slug, "reason": f"Grounded reason for {slug}."}
                          for slug in FUSION_ITEM.findall(content)],
            }  # fmt: skip
        essays = []
        for section in SECTION.finditer(content):
            text = self.essays_in({"messages": [{"content": section.group(0)}]}).get(
                section.group("id"), ""
            )
            # What a gullible model does with an essay that asks for marks.
            score = 1.0 if self.gullible and "full marks" in text.lower() else self.grade
            essays.append({
                "id": section.group("id"),
                "criteria": [
                    {"name": c.group("name"), "score": score, "justification": "Fine."}
                    for c in CRITERION.finditer(section.group("body"))
                ],
                "feedback": "Good start. Mention the missing key points next time.",
            })  # fmt: skip
        return {"essays": essays}


FUSION_ITEM = re.compile(r"^### id: (\S+)$", re.MULTILINE)


def purpose_of(request: dict[str, Any]) -> str:
    content = request["messages"][-1]["content"]
    return "fusion" if "## Chosen credentials" in content else "essays"


def fake_embedding(text: str, dim: int = 1536) -> list[float]:
    """Deterministic and meaningful enough for retrieval tests: the service's own lexical
    vector, padded to the model's dimension."""
    from jobs.embeddings import lexical_vector

    vector = lexical_vector(text)
    return vector + [0.0] * (dim - len(vector))


def _completion(request: dict[str, Any], content: str) -> dict[str, Any]:
    prompt = "".join(m["content"] for m in request["messages"])
    prompt_tokens = count_tokens(prompt) + 4 * len(request["messages"])
    completion_tokens = count_tokens(content)
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request.get("model", "gpt-4o-mini"),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


@asynccontextmanager
async def fake_openai(**options: Any) -> AsyncIterator[FakeOpenAI]:
    state = FakeOpenAI(port=free_port(), **options)

    async def chat(request: Request) -> Response:
        body = await request.json()
        state.requests.append(body)
        behaviour = state.next_behaviour(purpose_of(body))
        delay = behaviour.delay or random.uniform(*state.latency)
        if delay:
            await asyncio.sleep(delay)
        if behaviour.status != 200:
            error = {"error": {"message": "scripted failure", "type": "server_error"}}
            return JSONResponse(error, status_code=behaviour.status, headers=behaviour.headers)
        if behaviour.body is not None:
            return JSONResponse(_completion(body, behaviour.body))
        document = behaviour.document or state.answer_for(body)
        return JSONResponse(_completion(body, json.dumps(document)))

    async def embeddings(request: Request) -> Response:
        body = await request.json()
        state.embedding_requests.append(body)
        if state.embeddings_status != 200:
            error = {"error": {"message": "scripted failure", "type": "server_error"}}
            return JSONResponse(error, status_code=state.embeddings_status)
        texts = [body["input"]] if isinstance(body["input"], str) else body["input"]
        tokens = sum(count_tokens(t) for t in texts)
        return JSONResponse({
            "object": "list",
            "data": [{"object": "embedding", "index": i, "embedding": fake_embedding(t)}
                     for i, t in enumerate(texts)],
            "model": body.get("model", "text-embedding-3-small"),
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        })  # fmt: skip

    app = Starlette(routes=[
        Route("/v1/chat/completions", chat, methods=["POST"]),
        Route("/v1/embeddings", embeddings, methods=["POST"]),
    ])  # fmt: skip
    async with serving(app, state.port):
        yield state
