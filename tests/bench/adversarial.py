"""Answers that should earn nothing, built from a set of questions (the dev questions of the
short-answer data, or the shipped bank's essays): seven kinds, each in several phrasings.

Every phrasing below was written for this benchmark. Each kind's phrasings are split in two:
the first ones are the ``tune`` split, looked at while the local scorer's non-answer rules
were written; the last ``HELD_OUT_PER_KIND`` are the ``held_out`` split, never looked at
while tuning, and reported beside it.

Kinds that are built from a question's own reference (the shuffles, the appended keywords)
are only built where the reference is long enough to make them a non-answer: the three
words of "By reference." shuffled are still a correct short answer.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum

from domain.essay_local import STOPWORDS

HELD_OUT_PER_KIND = 2
MIN_REFERENCE_WORDS = 8  # for the kinds built from the reference
MIN_KEYWORDS = 4


class Kind(StrEnum):
    REFUSAL = "refusal ('I don't know')"
    NONSENSE = "everyday nonsense"
    RESTATED = "the question restated"
    BUZZWORDS = "IT buzzwords strung together"
    OTHER_QUESTION = "a correct answer to another question"
    SHUFFLED = "the reference's words shuffled"
    KEYWORDS_APPENDED = "a weak answer + keywords appended"


@dataclass(frozen=True)
class Question:
    key: str
    prompt: str
    reference: str
    key_points: tuple[str, ...] = ()
    weak_answers: tuple[str, ...] = ()  # genuine answers humans graded about half marks
    good_answers: tuple[str, ...] = ()  # genuine answers humans graded 4/5 or more


@dataclass(frozen=True)
class Attack:
    kind: Kind
    split: str  # "tune" or "held_out"
    question: Question
    answer: str


REFUSALS = (
    "I don't know.",
    "No idea, sorry.",
    "I'm not sure what this is asking.",
    "idk",
    "Pass.",
    "Sorry, I can't remember this one.",
    "?",
    "I have not studied this topic yet, so I cannot answer it.",
    # held out
    "Honestly I have no clue about this, I never learned it.",
    "not sure... maybe? I'd rather skip this question",
)

NONSENSE = (
    "I like pizza and my cat is called Max.",
    "The weather was lovely yesterday so we went to the beach with the kids.",
    "My favourite football team won the match on Sunday after extra time.",
    "I had pasta for lunch and then watched a long movie with my friends.",
    "Bananas are yellow and monkeys love to eat them in the jungle.",
    "My grandmother knits warm sweaters for the whole family every winter.",
    # held out
    "We went hiking in the mountains and saw a deer drinking near the lake.",
    "Coffee tastes better with milk and a little sugar early in the morning.",
)

# {core}: the question without its question words; {Core}: the same, capitalised;
# {question}: the question without its question mark.
RESTATEMENTS = (
    "{question}.",
    "{Core} is an important concept.",
    "The answer is about {core}.",
    "{Core} is what this question asks about, and it matters a lot.",
    "{Core} is a key idea in computer science and it is used in many programs.",
    "To answer the question: {question}.",
    # held out
    "It is important to understand {core}, because {core} is used in practice.",
    "Well, {core} depends on the situation, so it is hard to say in general.",
)

BUZZWORDS = (
    "Cloud computing, big data and artificial intelligence enable scalable, agile and secure "
    "digital transformation.",
    "AI machine learning cloud blockchain IoT big data cybersecurity DevOps agile",
    "Using microservices, DevOps and blockchain, modern systems leverage synergy to deliver "
    "business value.",
    "Leveraging deep learning and neural networks in the cloud gives robust, efficient and "
    "future-proof results.",
    "Agile teams adopt continuous integration and continuous delivery to ship innovative "
    "features faster.",
    "Quantum computing and edge computing will revolutionise analytics and virtual reality.",
    # held out
    "The solution uses Kubernetes, serverless functions and a service mesh to optimise "
    "performance, resilience and scalability.",
    "Digital twins, 5G and generative AI are disrupting every industry with data-driven insight.",
)

# How a reference's own words are turned into a non-answer (SHUFFLED).
SHUFFLES = ("all words", "all words, capitalised", "content words", "content words, commas",
            "all words, twice", "content words, sentence",
            # held out
            "all words, per sentence", "content words, lines")  # fmt: skip

# How keywords are appended to a weak genuine answer (KEYWORDS_APPENDED); {keywords} are the
# reference's content words, {shuffled} the same shuffled.
APPENDINGS = (
    " {keywords}",
    " Keywords: {commas}.",
    "\n{lines}",
    " {shuffled}",
    ". Also {commas}.",
    " ({commas})",
    # held out
    "\n\nImportant terms: {shuffled_commas}",
    " - {keywords} - {shuffled}",
)

_QUESTION_WORDS = re.compile(
    r"^(?:in one sentence,\s*)?(?:what|which|how|why|when|where|who)\s+"
    r"(?:is|are|was|were|does|do|did|can|could|should|would|will|has|have)?\s*",
    re.IGNORECASE,
)
_IMPERATIVE = re.compile(r"^(?:explain|describe|discuss|compare|give|list|outline)\s+", re.I)
_WORDS = re.compile(r"[A-Za-z0-9+#'()-]+")


def core_of(prompt: str) -> str:
    """The question without its question words: 'What is a variable?' -> 'a variable'."""
    first = re.split(r"(?<=[?.])\s+", prompt.strip())[0].rstrip("?. ")
    return _IMPERATIVE.sub("", _QUESTION_WORDS.sub("", first)).strip()


def _content_words(text: str) -> list[str]:
    seen: list[str] = []
    for word in _WORDS.findall(text):
        w = word.strip("()'").lower()
        if w and w not in STOPWORDS and len(w) > 1 and w not in seen:
            seen.append(w)
    return seen


def _split(n: int) -> Iterator[str]:
    for i in range(n):
        yield "held_out" if i >= n - HELD_OUT_PER_KIND else "tune"


def _shuffled(words: Sequence[str], rng: random.Random) -> list[str]:
    out = list(words)
    for _ in range(10):  # a shuffle that happens to keep the order is no shuffle
        rng.shuffle(out)
        if out != list(words):
            break
    return out


def shuffle_reference(reference: str, how: str, rng: random.Random) -> str:
    words = _WORDS.findall(reference)
    content = _content_words(reference)
    if how == "all words":
        return " ".join(_shuffled(words, rng)).lower()
    if how == "all words, capitalised":
        text = " ".join(_shuffled(words, rng))
        return text[:1].upper() + text[1:] + "."
    if how == "content words":
        return " ".join(_shuffled(content, rng))
    if how == "content words, commas":
        return ", ".join(_shuffled(content, rng))
    if how == "all words, twice":
        return " ".join(_shuffled(words, rng) + _shuffled(words, rng)).lower()
    if how == "content words, sentence":
        text = " ".join(_shuffled(content, rng))
        return text[:1].upper() + text[1:] + "."
    if how == "all words, per sentence":
        sentences = [s for s in re.split(r"(?<=[.;])\s+", reference) if s.strip()]
        return " ".join(
            (lambda t: t[:1].upper() + t[1:] + ".")(" ".join(_shuffled(_WORDS.findall(s), rng)))
            for s in sentences
        )
    if how == "content words, lines":
        return "\n".join(_shuffled(content, rng))
    raise ValueError(how)


def append_keywords(weak: str, how: str, reference: str, rng: random.Random) -> str:
    keywords = _content_words(reference)
    shuffled = _shuffled(keywords, rng)
    return weak.rstrip() + how.format(
        keywords=" ".join(keywords),
        commas=", ".join(keywords),
        lines="\n".join(keywords),
        shuffled=" ".join(shuffled),
        shuffled_commas=", ".join(shuffled),
    )


def restate(prompt: str, template: str) -> str:
    core = core_of(prompt)
    question = prompt.strip().rstrip("?")
    return template.format(core=core, Core=core[:1].upper() + core[1:], question=question)


def attacks(questions: Sequence[Question], seed: int = 20261203) -> list[Attack]:
    """Every kind, every phrasing, for every question where the kind applies."""
    rng = random.Random(seed)
    out: list[Attack] = []
    for i, question in enumerate(questions):
        others = [q for q in questions if q.key != question.key and q.prompt != question.prompt]

        def add(kind: Kind, texts: Sequence[str], q: Question = question) -> None:
            for split, text in zip(_split(len(texts)), texts, strict=True):
                out.append(Attack(kind, split, q, text))

        add(Kind.REFUSAL, REFUSALS)
        add(Kind.NONSENSE, NONSENSE)
        add(Kind.RESTATED, [restate(question.prompt, t) for t in RESTATEMENTS])
        add(Kind.BUZZWORDS, BUZZWORDS)
        if others:
            picked = [others[(i * 7 + k * 13) % len(others)] for k in range(3)]
            texts = [q.reference for q in picked]
            texts += [q.good_answers[0] for q in picked if q.good_answers]
            texts = [t for t in texts if len(_content_words(t)) >= 3][:6]
            add(Kind.OTHER_QUESTION, [*texts, picked[0].reference + " " + picked[1].reference])
        long_reference = len(_WORDS.findall(question.reference)) >= MIN_REFERENCE_WORDS
        if long_reference:
            add(Kind.SHUFFLED, [shuffle_reference(question.reference, h, rng) for h in SHUFFLES])
        if (
            question.weak_answers
            and len(_content_words(question.reference)) >= MIN_KEYWORDS
            and long_reference
        ):
            weak = question.weak_answers[0]
            add(
                Kind.KEYWORDS_APPENDED,
                [append_keywords(weak, how, question.reference, rng) for how in APPENDINGS],
            )
    return out
