"""The numpy MiniLM encoder reproduces the reference model's embeddings.

tests/data/minilm_golden/reference.json holds sentence-transformers' vectors (torch, CPU) for
20 texts: prose, code, SQL, a refusal, a keyword list and its shuffle, other languages and
scripts, a one-letter text, odd whitespace, and a text far past the 256-piece truncation.
make_reference.py beside it says how they were made. A change to the tokenizer handling,
the layer maths, pooling or truncation shows here as a cosine below 0.999.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from jobs.minilm import MAX_SEQ_LENGTH, get_encoder

REFERENCE = Path(__file__).resolve().parents[1] / "data" / "minilm_golden" / "reference.json"
MIN_COSINE = 0.999


def _reference() -> tuple[list[str], np.ndarray]:
    data = json.loads(REFERENCE.read_text(encoding="utf-8"))
    assert data["max_seq_length"] == MAX_SEQ_LENGTH
    texts = [case["text"] for case in data["cases"]]
    vectors = np.array([case["vector"] for case in data["cases"]], dtype=np.float64)
    return texts, vectors


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    cosines: np.ndarray = (a * b).sum(axis=1) / (
        np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    )
    return cosines


def test_batched_encoding_matches_the_reference_model() -> None:
    texts, reference = _reference()
    vectors = get_encoder().encode(texts, batch_size=8)
    assert vectors.shape == reference.shape
    cosines = _cosines(vectors.astype(np.float64), reference)
    worst = int(np.argmin(cosines))
    assert cosines.min() >= MIN_COSINE, f"text {worst} ({texts[worst][:40]!r}): {cosines[worst]}"
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize("index", [0, 8, 16, 19])
def test_a_text_encoded_alone_matches_its_batched_reference(index: int) -> None:
    """Padding inside a batch must not change a text's vector."""
    texts, reference = _reference()
    alone = get_encoder().encode(texts[index]).astype(np.float64)
    assert _cosines(alone, reference[index : index + 1])[0] >= MIN_COSINE


def test_analyze_agrees_with_encode_on_texts_within_one_window() -> None:
    """analyze() pools the same token states as encode() when nothing is truncated."""
    texts, reference = _reference()
    short = texts[:-1]  # the last text spans several windows, which analyze() keeps
    analyses = get_encoder().analyze(short)
    vectors = np.stack([a.vector for a in analyses]).astype(np.float64)
    assert _cosines(vectors, reference[:-1]).min() >= MIN_COSINE
