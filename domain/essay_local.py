"""Local (offline) essay scorer: compares an answer with the question's reference answer.

Used when no LLM is configured, its budget is exhausted or it fails.  Pure Python, no
numpy: anything that needs the sentence encoder goes through a ``SimilarityBackend``
(``minilm.MiniLMBackend`` is the numpy implementation).  Without a backend a lexical
model (stemmed word overlap) is used.

Embedding mode (constants fitted once, globally, on UNT short-answer assignments 1-4 and
checked on held-out assignments 5-7; nothing is fitted per question):

  R      = alignment recall.  Content words of the reference and of the answer (stop words
           and the question's words removed: question demotion) are compared by the cosine
           of their contextual MiniLM vectors; each reference word takes its best match in
           the answer, counted as 0 below ALIGN_FLOOR (unrelated words sit at 0.1-0.3),
           and R is the mean.  With key points given, R = (R_reference + mean R_key point)/2.
  C_qref = cosine of the answer's sentence vector with that of "question reference".
  C_q    = cosine with the question's vector of the answer or, if higher, of one of its
           sentences (so appended sentences cannot dilute it).
  accuracy = sigmoid(b0 + b1*R + b2*C_qref + b3*C_q)          in 0..1 (x5: the 0-5 grade)

C_q has a negative weight: restating the question scores low, saying what the reference
says scores high.  The fit also saw answers to other questions with target 0, so an
off-topic answer lands near 0.4 rather than 0.6.

clarity and coherence are heuristic decompositions anchored on accuracy (only a holistic
human grade was available to validate against); see ``score_essay``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from domain.essay_flags import EssayFlag
from domain.essay_integrity import (
    RESTATE_SHARE,
    ContentMeasures,
    filler_free,
    judge,
    question_remainder,
    without_trailing_list,
)
from domain.essays import OtherQuestion, capped_for_flags
from domain.feedback_guard import LEAK_RUN, WITHHELD, guard_feedback

# --------------------------------------------------------------------------- constants
# Fitted on assignments 1-4 of the UNT set (evaluate.py --fit); global, never per question.
EMBED_MODEL = (-1.0834, 2.8060, 7.7969, -5.1832)  # b0, b1 (R), b2 (C_qref), b3 (C_q)
LEXICAL_MODEL = (0.5999, 4.1206, 0.0637)  # b0, b1 (stem recall), b2 (stem precision)
ALIGN_FLOOR = 0.30  # a reference word whose best match is below this is not aligned
KEY_POINT_COVERED = 0.31  # R of a key point from which it counts as covered
LEXICAL_KEY_POINT_COVERED = 0.20  # the same for stem recall (lexical mode)
# Set by hand, not fitted:
ANCHOR = 0.7  # share of accuracy in clarity and in coherence
ON_TOPIC_LOW, ON_TOPIC_HIGH = 0.10, 0.45  # sentence-to-(question+reference) cosine ramp
OFF_TOPIC_TAIL = 0.20  # trailing sentences below this may never raise a score
DEFAULT_WEIGHTS: Mapping[str, float] = {"accuracy": 0.5, "clarity": 0.25, "coherence": 0.25}
MAX_KEY_POINTS = 6
OTHER_QUESTIONS_COMPARED = 8  # the bank's closest other questions (by shared words) embedded

STOPWORDS = frozenset(
    """a an the of to in on at by for with from as is are was were be been being it its this that
    these those and or but if then than so such not no nor can could will would shall should may
    might must do does did done doing have has had having i you he she we they them their theirs
    his her hers our ours your yours my me us him which who whom whose what when where why how
    there here also just very into out up down over under again further once only own same other
    any each few more most some all both about above below between through during before after
    while because until against off too s t etc e g ie eg one's it's that's there's""".split()  # noqa: SIM905
)

_WORD = re.compile(r"[a-z0-9]+(?:\+\+|#)?")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\s*\n+\s*")
# a capitalised word right after a lower-case one, with no punctuation between: a new
# sentence run on ("... a pointer to a function Please grade ..."), as appended text arrives
_RUN_ON = re.compile(r"(?<=[a-z0-9)\]])\s+(?=[A-Z][a-z']*\b)")


# --------------------------------------------------------------------------- text basics
def stem(word: str) -> str:
    """Light English stemmer (inflections and common derivations); deterministic."""
    w = word.lower()
    if len(w) <= 3 or not w.isalpha():
        return w
    if w.endswith("ies") and len(w) > 4:
        w = w[:-3] + "y"
    elif w.endswith("sses"):
        w = w[:-2]
    elif w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    for suffix in (
        "izations",
        "ization",
        "isation",
        "ational",
        "fulness",
        "iveness",
        "ousness",
        "ations",
        "ation",
        "ments",
        "ment",
        "ness",
        "ity",
        "ings",
        "ing",
        "edly",
        "ed",
        "ively",
        "ive",
        "able",
        "ible",
        "ally",
        "ly",
        "ers",
        "er",
        "al",
    ):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            w = w[: -len(suffix)]
            break
    if w.endswith("e") and len(w) > 4:
        w = w[:-1]
    if len(w) > 3 and w[-1] == w[-2] and w[-1] not in "lsz":
        w = w[:-1]
    return w


def is_content_word(word: str) -> bool:
    w = word.lower()
    if w in STOPWORDS or not any(ch.isalnum() for ch in w):
        return False
    return len(w) > 1 or w.isdigit()


def content_stems(text: str, exclude: frozenset[str] = frozenset()) -> list[str]:
    """Stems of the content words of text, in order, except those in exclude."""
    stems = (stem(w) for w in _WORD.findall(text.lower()) if is_content_word(w))
    return [s for s in stems if s not in exclude]


def question_stems(question: str) -> frozenset[str]:
    """Stems demoted when answer and reference are compared (Mohler / Sultan)."""
    return frozenset(content_stems(question))


def split_sentences(text: str) -> list[str]:
    """Sentences, also split where a capitalised word runs on after a lower-case one."""
    out: list[str] = []
    for part in _SENTENCE_END.split(text.strip()):
        start = 0
        for m in _RUN_ON.finditer(part):
            if not part[m.end() :].startswith(("I ", "I'")):
                out.append(part[start : m.start()])
                start = m.end()
        out.append(part[start:])
    return [p.strip() for p in out if p and _WORD.search(p.lower())]


def derive_key_points(reference: str, max_points: int = MAX_KEY_POINTS) -> list[str]:
    """Pseudo key points of a reference: its sentences or, for a one-sentence reference,
    its clauses (split at ';', ', ' and contrast words) when each has two content words."""
    sentences = split_sentences(reference) or ([reference.strip()] if reference.strip() else [])
    points: list[str] = []
    for sentence in sentences:
        clauses = [
            c.strip(" ,;.")
            for c in re.split(r";\s*|,\s+|\s+(?:whereas|but|while|however)\s+", sentence)
        ]
        clauses = [c for c in clauses if len(content_stems(c)) >= 2]
        points.extend(clauses if len(sentences) == 1 and len(clauses) > 1 else [sentence])
    if len(points) > max_points:  # merge the tail: at most max_points
        points = [*points[: max_points - 1], " ".join(points[max_points - 1 :])]
    return points


def _ramp(x: float, lo: float, hi: float) -> float:
    return min(1.0, max(0.0, (x - lo) / (hi - lo)))


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


# --------------------------------------------------------------------------- prompt injection
# Text addressed to whoever grades: role markers, chat-template tokens, "ignore the rubric",
# demands for a score, self-assessments.  Patterns need grading vocabulary, not just
# imperative verbs, so that CS answers ("return the maximum value", "ignore the first
# element", "CPU instructions") are not matched; words of the question and reference are
# masked first (see is_injection).
_I = re.IGNORECASE
_SPECIAL_TOKENS = re.compile(
    r"<\|[^|>]{1,40}\|>|\[/?(?:inst|sys|system)\]|<<\s*/?sys\s*>>"
    r"|</?(?:system|instructions?|admin|grader|answer|essay|response)>"
    r"|#{2,}\s*(?:instruction|system|response)|={3,}\s*end of",
    _I,
)
_ROLE_MARKER = re.compile(
    r"(?:^|[\s\"'(\[{<])(?:system|assistant|developer|grader|evaluator|marker|examiner|admin"
    r"|administrator|grading note|note to (?:the )?\w+|p\.?s\.?)\s*[:>\]-]",
    _I,
)
_GRADER = re.compile(
    r"\b(?:graders?|grading|evaluators?|examiners?|markers?|assessors?|scorers?|rubric"
    r"|marking scheme|ai|a\.i\.|llm|language model|assistant|chatbot|gpt|dear|reviewer|checker"
    r"|teacher|professor|instructor|tutor|whoever|automated)\b",
    _I,
)
_GRADE_NOUN = (
    r"(?:marks?|points?|scores?|credits?|grades?|ratings?|bands?|5\s*/\s*5|10\s*/\s*10"
    r"|100\s*%|an? a\+?)(?!\w)"
)
_OVERRIDE = re.compile(
    r"\b(?:ignore|disregard|forget|override|overrule|bypass)\b[^.!?\n]{0,40}"
    r"\b(?:rubric|instructions|criteria|guidelines|grading|marking|scoring|system prompt"
    r"|missing details|(?:previous|prior|above|earlier) (?:instructions?|rules|prompts?|messages?"
    r"|text))\b"
    r"|\b(?:forget|disregard) (?:what|everything) you (?:were|have been) told\b",
    _I,
)
_SCORE_DEMAND = re.compile(
    r"\b(?:give|gives|giving|award|assign|grant|output|return|put|print|respond)\b[^.!?\n]{0,50}"
    rf"\b(?:full|max(?:imum)?|perfect|top|highest|best|complete)\b[^.!?\n]{{0,20}}{_GRADE_NOUN}"
    rf"|\b(?:give|gives|giving|award|assign|grant)\s+(?:me|it|this|the answer|my answer)\b"
    rf"[^.!?\n]{{0,30}}\b{_GRADE_NOUN}"
    r"|\b(?:full|perfect|top) (?:marks?|credit|grades?|scores?|bands?)\b"
    r"|\b(?:max(?:imum)?|highest) (?:marks|credit)\b"
    r"|(?<![\d.])(\d+)\s*/\s*\1(?![\d.])"
    r"|\b(?:rate|grade|mark|score)\s+(?:this|it|me|the answer|my answer|the essay|my essay)"
    r"(?:\s+\w+)?\s+(?:as\s+)?\d"
    r"|\b(?:grade|mark|score|assess|evaluate)\w*\s+(?:this|it|me|my \w+)?\s*(?:very\s+)?"
    r"(?:generous|lenient|kind)\w*"
    r"|\b(?:score|grade|mark|rating|result)s?\s*(?:is|=|:|of|should be|must be)\s*"
    r"(?:\d|max|full|perfect|top|highest)"
    r"|\b(?:deserves?|earns?)\b[^.!?\n]{0,30}(?:\d|full|max|perfect|top|highest)"
    r"|\bmark (?:it|this|the answer|my answer) (?:as )?correct\b|\bpass me\b"
    r"|\{\s*\"(?:score|grade|clarity|accuracy|coherence|overall)\"\s*:",
    _I,
)
_SELF_ASSESSMENT = re.compile(
    r"\b(?:this|my|the above|the previous|above)\s+(?:answer|response|essay|submission|explanation)"
    r"\b[^.!?\n]{0,50}\b(?:excellent|perfect|flawless|brilliant|outstanding|comprehensive"
    r"|(?:fully|completely|totally|100%) (?:correct|accurate|right)"
    r"|complete and (?:correct|accurate)"
    r"|correct in every|deserves?|full marks|covers everything|model answer|best answer)\b"
    r"|\b(?:reference|model|expected) answer is (?:wrong|incorrect|outdated)\b"
    r"|\b(?:i am|i'm) (?:the|your) (?:teacher|grader|instructor|professor|examiner|marker)\b"
    r"|\b(?:confirm|certify|certified|approved)\b[^.!?\n]{0,30}\b(?:fully |completely )?correct\b"
    r"|\b(?:key points|criteria|rubric)\b[^.!?\n]{0,20}\b(?:are|is|were) (?:all )?(?:covered|met"
    r"|satisfied|addressed)\b",
    _I,
)
_GRADE_CONTEXT = re.compile(r"\b(?:max(?:imum)?|highest) (?:marks?|scores?|points?|grades?)\b", _I)
_GRADING_WORDS = re.compile(
    r"\b(?:scores?|scored|grades?|graded|grading|marks?|credit|rubric|rating|correct|criteri\w*"
    r"|evaluat\w*|assess\w*)\b|\d\s*/\s*\d",
    _I,
)
_INJECTION_SPLIT = re.compile(
    r"(?<=[.!?])\s+|\s*\n+\s*|(?=<\|)|(?=\[/?(?:INST|SYS)\])|(?=={3,})"
    r"|(?=\b(?:SYSTEM|System|ASSISTANT|Assistant|GRADER|Grader|NOTE TO|Note to|IMPORTANT"
    r"|Important)\b\s*(?:[A-Za-z ]{0,20})?:)"
)


def _without_topic_words(text: str, topic: str) -> str:
    """Mask the words of question, reference and key points, so that an answer about, say,
    a scoring function is not taken for text addressed to the grader."""
    topic_words = {w for w in _WORD.findall(topic.lower()) if len(w) > 2}
    if not topic_words:
        return text
    return re.sub(
        r"[A-Za-z0-9]+", lambda m: "_" if m.group(0).lower() in topic_words else m.group(0), text
    )


def is_injection(piece: str, topic: str = "") -> bool:
    """True for text addressed to the grader or trying to set the score."""
    if _SPECIAL_TOKENS.search(piece):
        return True
    s = _without_topic_words(piece, topic)
    if _OVERRIDE.search(s) or _SELF_ASSESSMENT.search(s) or _SCORE_DEMAND.search(s):
        return True
    if _GRADE_CONTEXT.search(s) and _GRADER.search(s):
        return True
    return bool(_ROLE_MARKER.search(s) and (_GRADER.search(s) or _GRADING_WORDS.search(s)))


def strip_injections(answer: str, topic: str = "") -> tuple[str, list[str]]:
    """Remove the pieces (sentences, lines, chat-template segments) addressed to the grader.

    A piece right after a removed one goes too when it still talks about grading (the rest
    of an instruction cut by a template token or a line break).  Returns (clean, removed).
    """
    kept: list[str] = []
    removed: list[str] = []
    previous_removed = False
    for piece in (p for p in _INJECTION_SPLIT.split(answer) if p and p.strip()):
        follows = previous_removed and bool(
            _GRADING_WORDS.search(_without_topic_words(piece, topic))
        )
        previous_removed = follows or is_injection(piece, topic)
        (removed if previous_removed else kept).append(piece.strip())
    return (" ".join(kept), removed) if removed else (answer, [])


# --------------------------------------------------------------------------- backend protocol
class SimilarityBackend(Protocol):
    """What the scorer needs from a sentence encoder (minilm.MiniLMBackend provides it).

    ``analyze`` returns one opaque representation per text with a ``words`` attribute: the
    text's words, lower-cased, in order.  The other two methods take such representations.
    """

    def analyze(self, texts: Sequence[str]) -> Sequence[Any]: ...

    def cosine(self, a: Any, b: Any) -> float:
        """Cosine of the two texts' sentence vectors."""
        ...

    def word_similarities(
        self, a: Any, b: Any, a_idx: Sequence[int], b_idx: Sequence[int]
    ) -> list[list[float]]:
        """Cosines of a's words a_idx (rows) with b's words b_idx (columns)."""
        ...


# --------------------------------------------------------------------------- pure features
def content_indices(words: Sequence[str], demoted: frozenset[str]) -> list[int]:
    """Positions of the content words whose stem is not demoted."""
    return [i for i, w in enumerate(words) if is_content_word(w) and stem(w) not in demoted]


def alignment_recall(sims: Sequence[Sequence[float]], floor: float = 0.0) -> float:
    """Mean over rows (reference words) of the row's best similarity (answer words); a best
    similarity below floor counts as 0 (that reference word is not aligned)."""
    best = [max(row) for row in sims if row]
    if not best or len(best) != len(sims):
        return 0.0
    return sum(b if b >= floor else 0.0 for b in best) / len(best)


def alignment_precision(sims: Sequence[Sequence[float]]) -> float:
    """Mean over columns (answer words) of the column's best similarity."""
    if not sims or not sims[0]:
        return 0.0
    best = [max(row[j] for row in sims) for j in range(len(sims[0]))]
    return sum(best) / len(best)


def stem_overlap(reference: Sequence[str], answer: Sequence[str]) -> tuple[float, float]:
    """(recall, precision) of distinct stems."""
    ref, ans = set(reference), set(answer)
    if not ref or not ans:
        return 0.0, 0.0
    common = len(ref & ans)
    return common / len(ref), common / len(ans)


def embed_accuracy(recall: float, cos_qref: float, cos_q: float) -> float:
    b0, b1, b2, b3 = EMBED_MODEL
    return _sigmoid(b0 + b1 * recall + b2 * cos_qref + b3 * cos_q)


def lexical_accuracy(recall: float, precision: float) -> float:
    b0, b1, b2 = LEXICAL_MODEL
    return _sigmoid(b0 + b1 * recall + b2 * precision)


def clarity_raw(answer: str, precision: float, n_content: int) -> float:
    """How plainly the answer is put, 0..1: focus (alignment precision against the
    reference), readable sentence length, little repetition, more than a fragment."""
    lengths = [len(_WORD.findall(s.lower())) for s in split_sentences(answer)] or [0]
    mean_len = sum(lengths) / len(lengths)
    readable = mean_len / 4 if mean_len < 4 else min(1.0, max(0.3, 30 / mean_len))
    stems = content_stems(answer)
    distinct = len(set(stems)) / len(stems) if len(stems) >= 12 else 1.0
    return (
        0.4 * _ramp(precision, 0.25, 0.65)
        + 0.2 * readable
        + 0.2 * _ramp(distinct, 0.3, 0.6)
        + 0.2 * _ramp(float(n_content), 1.0, 4.0)
    )


def coherence_raw(sentence_topicality: Sequence[float]) -> float:
    """How much of the answer stays on the question's topic, 0..1 (ramp per sentence)."""
    if not sentence_topicality:
        return 0.0
    ramps = [_ramp(c, ON_TOPIC_LOW, ON_TOPIC_HIGH) for c in sentence_topicality]
    return sum(ramps) / len(ramps)


# --------------------------------------------------------------------------- results
@dataclass
class KeyPointResult:
    text: str
    coverage: float  # R of the key point (embedding mode) or its stem recall (lexical)
    covered: bool


@dataclass
class EssayScore:
    clarity: float
    accuracy: float
    coherence: float
    overall: float
    feedback: list[str]
    key_points: list[KeyPointResult]
    method: str  # "embedding" or "lexical"
    injection_removed: list[str] = field(default_factory=list)
    details: dict[str, float] = field(default_factory=dict)
    flags: tuple[EssayFlag, ...] = ()

    @property
    def missed_key_points(self) -> list[str]:
        return [k.text for k in self.key_points if not k.covered]


@dataclass
class _Measure:
    accuracy: float
    precision: float
    n_content: int  # content words of the answer after question demotion
    key_points: list[KeyPointResult]
    topicality: list[float]  # per sentence of the answer
    details: dict[str, float]
    cos_question_reference: float = 0.0
    cos_question: float = 0.0
    cos_other_question: float | None = None
    cos_question_whole: float = 0.0


def _measure_embedding(
    backend: SimilarityBackend,
    question: str,
    reference: str,
    answer: str,
    key_points: Sequence[str],
    key_points_given: bool,
    others: Sequence[OtherQuestion] = (),
) -> _Measure:
    demoted = question_stems(question)
    sentences = split_sentences(answer)
    texts = [reference, answer, question, f"{question} {reference}", *key_points]
    if len(sentences) > 1:
        texts.extend(sentences)
    reps = backend.analyze(texts)
    ref_rep, ans_rep, q_rep, qref_rep = reps[:4]
    kp_reps = reps[4 : 4 + len(key_points)]
    sent_reps = list(reps[4 + len(key_points) :]) or [ans_rep]
    ans_idx = content_indices(ans_rep.words, demoted)

    def sims_with_answer(rep: Any) -> list[list[float]]:
        idx = content_indices(rep.words, demoted) or content_indices(rep.words, frozenset())
        return backend.word_similarities(rep, ans_rep, idx, ans_idx) if idx and ans_idx else []

    ref_sims = sims_with_answer(ref_rep)
    r_ref = alignment_recall(ref_sims, ALIGN_FLOOR)
    precision = alignment_precision(ref_sims)
    kp_recalls = [alignment_recall(sims_with_answer(rep), ALIGN_FLOOR) for rep in kp_reps]
    recall = r_ref
    if key_points_given and kp_recalls:
        recall = 0.5 * r_ref + 0.5 * sum(kp_recalls) / len(kp_recalls)
    cos_qref = backend.cosine(ans_rep, qref_rep)
    cos_q = max(backend.cosine(rep, q_rep) for rep in [ans_rep, *sent_reps])
    kps = [
        KeyPointResult(t, round(c, 4), c >= KEY_POINT_COVERED)
        for t, c in zip(key_points, kp_recalls, strict=True)
    ]
    topicality = [backend.cosine(rep, qref_rep) for rep in sent_reps]
    cos_other = None
    if others:
        other_reps = backend.analyze([f"{o.prompt} {o.reference_answer}" for o in others])
        cos_other = max(backend.cosine(ans_rep, rep) for rep in other_reps)
    details = {
        "recall": recall,
        "recall_reference": r_ref,
        "precision": precision,
        "cos_question_reference": cos_qref,
        "cos_question": cos_q,
    }
    return _Measure(
        embed_accuracy(recall, cos_qref, cos_q), precision, len(ans_idx), kps, topicality,
        details, cos_qref, cos_q, cos_other, backend.cosine(ans_rep, q_rep),
    )  # fmt: skip


def _stem_cosine(a: Sequence[str], b: Sequence[str]) -> float:
    """Cosine of two bags of stems: the lexical stand-in for a sentence-vector cosine."""
    ca, cb = _counts(a), _counts(b)
    dot = sum(n * cb.get(w, 0) for w, n in ca.items())
    norm = math.sqrt(sum(n * n for n in ca.values()) * sum(n * n for n in cb.values()))
    return dot / norm if norm else 0.0


def _counts(stems: Sequence[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for s in stems:
        out[s] = out.get(s, 0) + 1
    return out


def _measure_lexical(
    question: str,
    reference: str,
    answer: str,
    key_points: Sequence[str],
    others: Sequence[OtherQuestion] = (),
) -> _Measure:
    demoted = question_stems(question)
    ans = content_stems(answer, demoted)
    ref = content_stems(reference, demoted) or content_stems(reference)
    recall, precision = stem_overlap(ref, ans)
    kps = []
    for text in key_points:
        r, _ = stem_overlap(content_stems(text, demoted) or content_stems(text), ans)
        kps.append(KeyPointResult(text, round(r, 4), r >= LEXICAL_KEY_POINT_COVERED))
    topic = set(content_stems(f"{question} {reference}"))
    topicality = []  # share of a sentence's content words found in question or reference
    for sentence in split_sentences(answer):
        words = set(content_stems(sentence))
        topicality.append(len(words & topic) / len(words) if words else 0.0)
    details = {"recall": recall, "precision": precision}
    all_stems = content_stems(answer)
    cos_other = max(
        (
            _stem_cosine(all_stems, content_stems(f"{o.prompt} {o.reference_answer}"))
            for o in others
        ),
        default=None,
    )
    return _Measure(
        lexical_accuracy(recall, precision), precision, len(ans), kps, topicality, details,
        _stem_cosine(all_stems, content_stems(f"{question} {reference}")),
        _stem_cosine(all_stems, content_stems(question)), cos_other,
        _stem_cosine(all_stems, content_stems(question)),
    )  # fmt: skip


def closest_others(
    answer: str, others: Sequence[OtherQuestion], limit: int = OTHER_QUESTIONS_COMPARED
) -> list[OtherQuestion]:
    """The other questions sharing the most words with the answer: only these are embedded,
    so the cost stays bounded however large the bank is."""
    words = set(content_stems(answer))

    def shared(o: OtherQuestion) -> int:
        return len(words & set(content_stems(f"{o.prompt} {o.reference_answer}")))

    return sorted(others, key=shared, reverse=True)[:limit]


def _criteria(text: str, m: _Measure) -> dict[str, float]:
    clarity = clarity_raw(text, m.precision, m.n_content)
    return {
        "accuracy": m.accuracy,
        "clarity": ANCHOR * m.accuracy + (1 - ANCHOR) * clarity,
        "coherence": ANCHOR * m.accuracy + (1 - ANCHOR) * coherence_raw(m.topicality),
    }


def score_essay(
    question: str,
    reference: str,
    answer: str,
    key_points: Sequence[str] | None = None,
    weights: Mapping[str, float] | None = None,
    backend: SimilarityBackend | None = None,
    other_questions: Sequence[OtherQuestion] = (),
) -> EssayScore:
    """Score one answer against the reference (and key points); every output is in 0..1.

    accuracy  = the fitted content model (embedding mode; lexical without a backend)
    clarity   = ANCHOR*accuracy + (1-ANCHOR)*clarity_raw    (focus, sentence length,
                repetition, substance)
    coherence = ANCHOR*accuracy + (1-ANCHOR)*coherence_raw  (sentences on topic)
    overall   = mean of the three weighted by ``weights`` (the rubric's weights for
                "accuracy", "clarity", "coherence"; other keys are ignored; default
                0.5 / 0.25 / 0.25)

    Without key points, pseudo key points are derived from the reference (for feedback
    only).  Guards, each taking a criterion-by-criterion minimum so that they can only
    lower a score: text addressed to the grader is removed, but the answer with it left in
    is scored too; off-topic trailing sentences (cosine with question+reference below
    OFF_TOPIC_TAIL) are compared with the answer without them.  Non-answers (refusals,
    off-topic text, answers to ``other_questions``, the question restated, term lists and
    shuffles; see domain/essay_integrity.py) are flagged and score at most FLAGGED_CEILING.

    Feedback names what is missing in words of its own (the main terms of a missed key
    point), never the key point or the reference itself.
    """
    weights = dict(weights or DEFAULT_WEIGHTS)
    given = bool(key_points)
    points = list(key_points) if key_points else derive_key_points(reference)
    reference = reference.strip() or " ".join(points)
    clean, removed = strip_injections(answer, f"{question} {reference} {' '.join(points)}")
    method = "embedding" if backend is not None else "lexical"
    others = closest_others(clean, other_questions)

    def measure(text: str, compare_others: bool = False) -> _Measure | None:
        if not _WORD.search(text.lower()):
            return None
        compared = others if compare_others else ()
        if backend is not None:
            return _measure_embedding(backend, question, reference, text, points, given, compared)
        return _measure_lexical(question, reference, text, points, compared)

    def floor_with(scores: dict[str, float], text: str) -> dict[str, float]:
        other = measure(text)
        other_scores = _criteria(text, other) if other else dict.fromkeys(scores, 0.0)
        return {k: min(v, other_scores[k]) for k, v in scores.items()}

    m = measure(clean, compare_others=True)
    if m is None:
        feedback = [_FLAG_FEEDBACK[EssayFlag.NO_ANSWER]]
        if removed:
            feedback.append("Text addressed to the grader was ignored.")
        kps = [KeyPointResult(t, 0.0, False) for t in points]
        return EssayScore(
            0.0, 0.0, 0.0, 0.0, feedback, kps, method, removed, flags=(EssayFlag.NO_ANSWER,)
        )

    measures = _content_measures(question, reference, clean, m)
    share, rest = question_remainder(clean, question)
    # What the answer adds to the question, measured on its own (the lexical recall already
    # leaves the question's words out).
    if share >= RESTATE_SHARE and backend is not None:
        left = measure(rest)
        measures = replace(
            measures,
            question_share=share,
            remainder_recall=left.details.get("recall", 0.0) if left else 0.0,
            remainder_cosine=left.cos_question_reference if left else 0.0,
        )
    flags = judge(clean, question, reference, measures)
    scores = _criteria(clean, m)
    if removed:
        scores = floor_with(scores, answer)
    sentences = split_sentences(clean)
    if len(sentences) == len(m.topicality) > 1 and m.topicality[-1] < OFF_TOPIC_TAIL:
        n = len(sentences)
        while n > 1 and m.topicality[n - 1] < OFF_TOPIC_TAIL:
            n -= 1
        scores = floor_with(scores, " ".join(sentences[:n]))
    # An appended list of terms may never raise a score: the answer without it is scored too.
    head = without_trailing_list(clean, f"{question} {reference} {' '.join(points)}")
    if head:
        scores = floor_with(scores, head)
    scores = {k: capped_for_flags(v, flags) for k, v in scores.items()}
    total = sum(max(0.0, weights.get(k, 0.0)) for k in scores)
    overall = (
        sum(v * max(0.0, weights.get(k, 0.0)) for k, v in scores.items()) / total
        if total > 0
        else scores["accuracy"]
    )

    feedback = _feedback(clean, m, flags)
    if removed:
        feedback.append("Text addressed to the grader was ignored.")
    secrets = [reference, *points]
    feedback = [
        f for f in (guard_feedback(f, answer=answer, question=question, secrets=secrets)
                    for f in feedback)
        if f != WITHHELD
    ] or [WITHHELD]  # fmt: skip
    return EssayScore(
        clarity=round(scores["clarity"], 4),
        accuracy=round(scores["accuracy"], 4),
        coherence=round(scores["coherence"], 4),
        overall=round(overall, 4),
        feedback=feedback,
        key_points=m.key_points,
        method=method,
        injection_removed=removed,
        details={k: round(v, 4) for k, v in m.details.items()},
        flags=flags,
    )


_CODE_TOKEN = re.compile(r"\S*[()\[\]{}*&=<>+%^|~]\S*")


def _content_measures(question: str, reference: str, answer: str, m: _Measure) -> ContentMeasures:
    demoted = question_stems(question)
    novel = set(filler_free([s for s in content_stems(answer) if s not in demoted]))
    # Code says something too ("*(a + i)", "O(n)"), though it has no words.
    novel |= set(_CODE_TOKEN.findall(answer)) - set(_CODE_TOKEN.findall(question))
    return ContentMeasures(
        recall=m.details.get("recall", 0.0),
        cos_question_reference=m.cos_question_reference,
        cos_question=m.cos_question,
        cos_question_whole=m.cos_question_whole,
        cos_other_question=m.cos_other_question,
        novel_content=len(novel),
        reference_words=len(set(content_stems(reference))),
    )


_FLAG_FEEDBACK: Mapping[EssayFlag, str] = {
    EssayFlag.NO_ANSWER: "No answer to the question was given.",
    EssayFlag.TOO_SHORT: "The answer is too short to show what you know; explain it in a few "
    "full sentences.",
    EssayFlag.OFF_TOPIC: "The answer is not about what the question asks.",
    EssayFlag.OTHER_QUESTION: "The answer seems to answer a different question.",
    EssayFlag.RESTATES_QUESTION: "The answer repeats the question without answering it.",
    EssayFlag.KEYWORD_LIST: "Terms listed or jumbled without explanation earn no credit; "
    "explain in full sentences how they answer the question.",
}
ASPECT_WORDS = 3  # at most this many terms name a missed aspect (never the key point itself)


def aspect_of(key_point: str, answer: str) -> str:
    """The main terms of a key point that the answer does not use (at most ASPECT_WORDS, the
    adjacent ones kept together: "call stack"), to name the aspect it misses without giving
    the key point away."""
    used = set(content_stems(answer))
    words = re.findall(r"[A-Za-z][A-Za-z0-9+#-]*", key_point)
    picked: list[int] = []
    for i, word in enumerate(words):
        w = word.lower()
        if not is_content_word(w) or len(w) < 3 or stem(w) in used:
            continue
        if w.endswith(("ing", "ed", "ly")) or any(words[j].lower() == w for j in picked):
            continue
        picked.append(i)
        if len(picked) == ASPECT_WORDS:
            break
    phrases: list[list[str]] = []
    for n, i in enumerate(picked):
        word = words[i] if any(c.isupper() for c in words[i][1:]) else words[i].lower()
        # Adjacent terms stay together ("call stack"), but never so many that the phrase
        # becomes a run of the key point (hyphenated words count each part).
        joined = phrases and picked[n - 1] == i - 1
        if joined and len(_WORD.findall(" ".join([*phrases[-1], word]).lower())) < LEAK_RUN:
            phrases[-1].append(word)
        else:
            phrases.append([word])
    return " and ".join(" ".join(p) for p in phrases)


def _feedback(answer: str, m: _Measure, flags: Sequence[EssayFlag]) -> list[str]:
    if flags:  # a non-answer gets the reason, not hints about the key
        return [_FLAG_FEEDBACK[flag] for flag in flags]
    missed = sorted((k for k in m.key_points if not k.covered), key=lambda k: k.coverage)
    feedback = []
    for k in missed:
        aspect = aspect_of(k.text, answer)
        feedback.append(
            f"Not explained yet: the point about {aspect}." if aspect
            else "One aspect of the question is not explained yet."
        )  # fmt: skip
    if m.key_points and not missed:
        feedback.append("All key points are addressed.")
    off_topic = sum(1 for c in m.topicality if c < ON_TOPIC_LOW)
    if off_topic and len(m.topicality) > 1:
        feedback.append(f"{off_topic} of {len(m.topicality)} sentences stray from the question.")
    if m.n_content < 3:
        feedback.append("The answer is very short; explain it in a full sentence or two.")
    return feedback
