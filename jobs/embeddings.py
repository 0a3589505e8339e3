"""Embedding functions for the vector index, chosen once per process:

- OpenAI embeddings (EMBEDDING_MODEL) when OPENAI_API_KEY is set, through LlmClient so the
  budget, retries and accounting apply;
- otherwise all-MiniLM-L6-v2 run locally (jobs/minilm.py: weights from an installed package,
  no download, no torch);
- otherwise, when that package is missing, a hashing vectoriser over word stems: lexical only,
  but offline and instant.

Our code embeds asynchronously and hands Chroma the vectors. Each collection still gets an
explicit Chroma embedding function (`chroma_function`), registered under our own names, so
Chroma never falls back to its default one, which would try to download a model.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import logging
import math
import uuid
from collections import Counter, OrderedDict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
from chromadb.utils.embedding_functions import register_embedding_function

from domain.essay_local import content_stems
from jobs.llm import LlmClient
from jobs.minilm import MiniLMEncoder, ModelNotAvailable, get_encoder

log = logging.getLogger(__name__)

LOCAL_MODEL = "all-MiniLM-L6-v2"
LEXICAL_MODEL = "stem-hashing-v1"
LEXICAL_DIM = 1024
OPENAI_BATCH = 256  # inputs per embeddings request


class Embedder(Protocol):
    provider: str  # "openai", "local" or "lexical"
    model: str
    dim: int

    async def embed(self, texts: Sequence[str], *, call_key: str) -> list[list[float]]: ...

    def chroma_function(self) -> EmbeddingFunction[Documents]: ...


# ---------------------------------------------------------------- lexical (always available)


def lexical_vector(text: str, dim: int = LEXICAL_DIM) -> list[float]:
    """Signed feature hashing of word stems and stem pairs, sublinear counts, unit length."""
    stems = content_stems(text)
    features = Counter(stems + [f"{a}_{b}" for a, b in itertools.pairwise(stems)])
    vector = np.zeros(dim, dtype=np.float32)
    for feature, count in features.items():
        digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
        bucket = int.from_bytes(digest[:4], "little") % dim
        sign = 1.0 if digest[4] & 1 else -1.0
        vector[bucket] += sign * (1.0 + math.log(count))
    norm = float(np.linalg.norm(vector))
    return (vector / norm if norm else vector).tolist()


@register_embedding_function
class LexicalFunction(EmbeddingFunction[Documents]):
    def __init__(self, dim: int = LEXICAL_DIM) -> None:
        self.dim = dim

    def __call__(self, input: Documents) -> Embeddings:
        return [np.asarray(lexical_vector(text, self.dim), dtype=np.float32) for text in input]

    @staticmethod
    def name() -> str:
        return "microcred-stem-hashing"

    def get_config(self) -> dict[str, Any]:
        return {"dim": self.dim}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> LexicalFunction:
        return LexicalFunction(int(config.get("dim", LEXICAL_DIM)))

    def default_space(self) -> Any:
        return "cosine"


class LexicalEmbedder:
    provider = "lexical"
    model = LEXICAL_MODEL
    dim = LEXICAL_DIM

    async def embed(self, texts: Sequence[str], *, call_key: str = "") -> list[list[float]]:
        return [lexical_vector(text) for text in texts]

    def chroma_function(self) -> EmbeddingFunction[Documents]:
        return LexicalFunction()


# ---------------------------------------------------------------- local MiniLM


@register_embedding_function
class MiniLMFunction(EmbeddingFunction[Documents]):
    def __init__(self) -> None:
        self._encoder: MiniLMEncoder | None = None

    def __call__(self, input: Documents) -> Embeddings:
        self._encoder = self._encoder or get_encoder()
        return list(self._encoder.encode(list(input)))

    @staticmethod
    def name() -> str:
        return "microcred-minilm"

    def get_config(self) -> dict[str, Any]:
        return {"model": LOCAL_MODEL}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> MiniLMFunction:
        return MiniLMFunction()

    def default_space(self) -> Any:
        return "cosine"


# Catalog passages and profile queries repeat (a rebuild, the same weak domain for many
# students): the forward pass is the expensive part, so recent vectors are kept, as float32
# (1.5 KB each), process-wide.
_LOCAL_CACHE: OrderedDict[str, npt.NDArray[np.float32]] = OrderedDict()
LOCAL_CACHE_SIZE = 4096


def _remember(text: str, vector: npt.NDArray[np.float32]) -> None:
    _LOCAL_CACHE[text] = vector
    _LOCAL_CACHE.move_to_end(text)
    while len(_LOCAL_CACHE) > LOCAL_CACHE_SIZE:
        _LOCAL_CACHE.popitem(last=False)


class LocalEmbedder:
    """The encoder is shared with the local essay scorer (one copy of the weights); the forward
    pass runs in a thread of its own so the event loop keeps serving."""

    provider = "local"
    model = LOCAL_MODEL

    def __init__(self, encoder: MiniLMEncoder) -> None:
        self._encoder = encoder
        self.dim = encoder.dim
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="embed")

    async def embed(self, texts: Sequence[str], *, call_key: str = "") -> list[list[float]]:
        missing = list(dict.fromkeys(t for t in texts if t not in _LOCAL_CACHE))
        if missing:
            loop = asyncio.get_running_loop()
            matrix = await loop.run_in_executor(self._pool, self._encoder.encode, missing)
            for text, vector in zip(missing, matrix, strict=True):
                _remember(text, vector)
        return [_LOCAL_CACHE[t].tolist() for t in texts]

    def chroma_function(self) -> EmbeddingFunction[Documents]:
        return MiniLMFunction()


# ---------------------------------------------------------------- OpenAI


@register_embedding_function
class OpenAIFunction(EmbeddingFunction[Documents]):
    """Only for Chroma's bookkeeping: our code always passes vectors computed through LlmClient
    (budget and accounting), so Chroma never needs to call this."""

    def __init__(self, model: str) -> None:
        self.model = model

    def __call__(self, input: Documents) -> Embeddings:
        raise RuntimeError("vectors for this collection are computed by the service")

    @staticmethod
    def name() -> str:
        return "microcred-openai"

    def get_config(self) -> dict[str, Any]:
        return {"model": self.model}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> OpenAIFunction:
        return OpenAIFunction(str(config.get("model", "")))

    def default_space(self) -> Any:
        return "cosine"


# Published dimensions of OpenAI's embedding models (others are learned from the first call).
OPENAI_DIMS = {"text-embedding-3-small": 1536, "text-embedding-3-large": 3072,
               "text-embedding-ada-002": 1536}  # fmt: skip


class OpenAIEmbedder:
    provider = "openai"

    def __init__(self, llm: LlmClient, model: str) -> None:
        self.llm = llm
        self.model = model
        self.dim = OPENAI_DIMS.get(model, 0)

    async def embed(self, texts: Sequence[str], *, call_key: str = "") -> list[list[float]]:
        vectors: list[list[float]] = []
        key = call_key or f"embed:{uuid.uuid4().hex}"
        for start in range(0, len(texts), OPENAI_BATCH):
            batch = texts[start : start + OPENAI_BATCH]
            vectors += await self.llm.embed(
                batch, model=self.model, purpose="embedding", call_key=f"{key}:{start}"
            )
        if vectors:
            self.dim = len(vectors[0])
        return vectors

    def chroma_function(self) -> EmbeddingFunction[Documents]:
        return OpenAIFunction(self.model)


def choose_embedder(llm: LlmClient, model: str) -> Embedder:
    if llm.configured:
        return OpenAIEmbedder(llm, model)
    try:
        return LocalEmbedder(get_encoder())
    except ModelNotAvailable as exc:
        log.warning("retrieval uses lexical embeddings: %s", exc)
        return LexicalEmbedder()
