"""Is this essay answer a genuine attempt at the question? The rules behind ``EssayFlag``.

The content model of domain/essay_local.py rewards saying what the reference says; on its own
it also rewards the reference's words in any order, a list of its terms, the question said
back, or a good answer to a neighbouring question. These rules recognise those non-answers
from measures the scorer already has (and a few lexical ones here), and a flagged essay scores
at most ``FLAGGED_CEILING``. Each rule needs strong evidence: on human-graded answers the
flags may hit at most 2% of the answers graded 4/5 or better (``make bench-scoring`` prints
the rate with the adversarial figures). Thresholds were set on the benchmark's ``tune`` split
and are global: nothing is set per question.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from domain.essay_flags import EssayFlag
from domain.essay_syntax import MODEL, token_class

# ----------------------------------------------------------------- thresholds (tune split)
# An essay question (its reference says 20 content words or more) answered in fewer than 3
# words of the student's own that cover little of it. Short-answer questions ("Where do C++
# programs begin?" "main") are never too short.
ESSAY_LENGTH_REFERENCE = 20
TOO_SHORT_WORDS = 3
TOO_SHORT_RECALL = 0.30
ESSAY_OFF_TOPIC_COSINE = 0.25  # an essay answer covering less than ESSAY_OFF_TOPIC_RECALL of
ESSAY_OFF_TOPIC_RECALL = 0.05  # the reference, and this far from it, is not about it
OFF_TOPIC_COSINE = 0.12  # cosine with question+reference below which an answer is elsewhere
OFF_TOPIC_RECALL = 0.20  # ... unless it still covers this much of the reference
OTHER_QUESTION_MARGIN = 0.30  # closer to another question (cosine) by at least this much
OTHER_QUESTION_RECALL = 0.50  # ... while covering less than this of its own reference
RESTATE_COSINE = 0.60  # cosine with the question above which an answer may be a restatement
RESTATE_RECALL = 0.10  # ... when it covers less than this of the reference
RESTATE_CLOSE_COSINE = 0.80  # this close to the question, a few words of its own do not count
RESTATE_WORDS = 3
QUESTION_RUN = 3  # words in a row taken from the question: the question said back
RESTATE_SHARE = 0.25  # when such runs make up this share of the answer, what is left ...
REMAINDER_RECALL = 0.05  # ... covering less than this of the reference (scored on its own)
REMAINDER_COSINE = 0.35  # ... and this far from question + reference adds nothing
REFUSAL_RECALL = 0.10  # a refusal's other words cover less than this of the reference
REFUSAL_WORDS = 4
SHUFFLE_SHARE = 0.90  # share of words taken from question and reference ...
SHUFFLE_ORDER_GAIN = 0.45  # ... in an order no better than chance (nats per token)
SHUFFLE_PAIRS = 0.30  # ... keeping fewer of their word pairs than this
LIST_MIN_TERMS = 4  # a segment of this many words or more can be a term list
LIST_FUNCTION_SHARE = 0.12  # ... when at most this share of them are function words
LIST_LOOSE_FUNCTION_SHARE = 0.45  # ... or a few more, in an order no better than chance
LIST_ORDER_GAIN = 0.10
TAIL_RUN_ON = 7  # ... or this many, when they continue a sentence
LIST_LOOSE_MAX_WORDS = 8
SHORT_LINES, SHORT_LINE_WORDS = 3, 3  # a list written one term per line
LIST_TOPIC_SHARE = 0.7  # ... and most of them words of question and reference
TAIL_RUN = 4  # this many words without a function word at the very end: appended terms
COMMA_ITEMS = 4  # a segment of this many comma-separated items ...
COMMA_ITEM_WORDS = 2  # ... of at most this many words each is an enumeration of terms
TAIL_FLOOR_ITEMS = 3  # a trailing list this long is scored away (the answer without it)
MIN_WORDS_FOR_ORDER = 8  # fewer words than this tell nothing about word order

# Words that say nothing about any topic: what a refusal, a hedge or a restatement adds to
# the question. Written from general English, not from the benchmark's phrasings.
_REFUSAL = re.compile(
    r"\b(?:i\s+(?:do\s*n[o']?t|don't|dont|did\s*n[o']?t|didn't|can\s*n[o']?t|can't|cannot"
    r"|have\s*n[o']?t|haven't|never)\s+(?:know|remember|recall|understand|studied|learned"
    r"|learnt|answer|say|tell|get)\w*|no\s+(?:idea|clue|answer)|not\s+sure|unsure|idk"
    r"|dunno|no\s+comment)\b|^\W*(?:skip|pass|n/?a|none|nothing|-+|\?+)\W*$|^\W*$",
    re.IGNORECASE,
)
_FILLER = frozenset(
    [
        "answer",
        "answers",
        "question",
        "questions",
        "ask",
        "asks",
        "asked",
        "asking",
        "concept",
        "concepts",
        "idea",
        "ideas",
        "thing",
        "things",
        "stuff",
        "important",
        "importance",
        "key",
        "matter",
        "matters",
        "lot",
        "lots",
        "topic",
        "topics",
        "term",
        "terms",
        "basically",
        "essentially",
        "really",
        "simply",
        "actually",
        "generally",
        "general",
        "many",
        "various",
        "different",
        "way",
        "ways",
        "something",
        "anything",
        "everything",
        "kind",
        "sort",
        "part",
        "case",
        "cases",
        "use",
        "used",
        "uses",
        "using",
        "well",
        "honestly",
        "sorry",
        "maybe",
        "perhaps",
        "probably",
        "yes",
        "okay",
        "ok",
        "hmm",
        "um",
        "uh",
        "think",
        "guess",
        "know",
        "sure",
        "remember",
        "idea",
        "clue",
        "skip",
        "pass",
        "rather",
        "would",
        "like",
        "sometimes",
        "often",
        "yet",
        "exactly",
    ]
)
_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9'+#-]*|\d+(?:\.\d+)?|[,;:]|[.!?]+|\n")
# (a parenthesis that closes the answer is a segment too: "... an address (memory, value)")
_SEGMENT_BREAK = re.compile(r"(?<=[.!?])\s+|\n+|:\s+|\s+-\s+|\s+\((?=[^()]*\)\W*$)")
# Code is not prose: brackets, operators and statements make a segment code, not a term list.
_CODE = re.compile(r"[\[\]{}=;*&<>|/\\]|->|\w\(")
_WORD = re.compile(r"[a-z0-9]+")
_CONTENT_CLASSES = frozenset({"ING", "ED", "PLURAL", "LY", "WORD", "NUM"})


@dataclass(frozen=True)
class ContentMeasures:
    """What the content model measured (embedding or lexical mode) that the rules use."""

    recall: float  # share of the reference (and key points) the answer covers
    cos_question_reference: float  # the answer against question + reference
    cos_question: float  # the answer (or its closest sentence) against the question
    cos_question_whole: float  # the whole answer against the question
    # The answer against the closest other question of the bank (question + reference),
    # None when no other question was given.
    cos_other_question: float | None = None
    novel_content: int = 0  # content words of the answer not in the question, nor filler
    reference_words: int = 0  # content words of the reference answer
    # The answer without the runs it takes from the question (see question_remainder),
    # measured on its own: share of the answer those runs make up, recall and cosine of the
    # rest. None when the answer takes no such run or the lexical model scored it.
    question_share: float = 0.0
    remainder_recall: float | None = None
    remainder_cosine: float | None = None


@dataclass(frozen=True)
class IntegrityVerdict:
    flags: tuple[EssayFlag, ...]
    # The answer without an appended term list, for the record (flags still apply).
    reason: str = ""


def _words(text: str) -> list[str]:
    return [t for t in _TOKEN.findall(text) if t[0].isalnum()]


def function_share(text: str) -> float:
    words = _words(text)
    if not words:
        return 0.0
    return sum(1 for w in words if token_class(w) not in _CONTENT_CLASSES) / len(words)


def is_refusal(answer: str, novel_content: int, recall: float) -> bool:
    """A refusal or hedge with (almost) nothing else in it: at most one content word, or a
    few that cover nothing of the reference ("I have not studied this topic yet")."""
    if not _REFUSAL.search(answer.strip()):
        return False
    return novel_content <= 1 or (recall < REFUSAL_RECALL and novel_content <= REFUSAL_WORDS)


def filler_free(stems: Sequence[str]) -> list[str]:
    return [s for s in stems if s not in _FILLER]


def known_share(text: str, known_text: str) -> float:
    """Share of the words of text that occur in known_text."""
    words = _WORD.findall(text.lower())
    known = set(_WORD.findall(known_text.lower()))
    return sum(1 for w in words if w in known) / len(words) if words else 0.0


def _joined_short_lines(text: str) -> str:
    """Runs of SHORT_LINES or more lines of at most SHORT_LINE_WORDS words each (a list
    written one term per line) joined into one line, so that the list is judged as a whole."""
    lines = text.split("\n")
    out: list[str] = []
    run: list[str] = []
    for line in [*lines, ""]:
        words = _words(line)
        if 0 < len(words) <= SHORT_LINE_WORDS and not line.rstrip().endswith((".", "!", "?")):
            run.append(line.strip())
            continue
        out.append(", ".join(run) if len(run) >= SHORT_LINES else "\n".join(run))
        run = []
        out.append(line)
    return "\n".join(part for part in out if part)


def _enumeration_items(segment: str) -> list[list[str]]:
    """The comma-separated items of a segment, each as its words, a leading label ("Also",
    "Keywords") and a final "and"/"or" dropped: an enumeration is terms whatever words the
    terms are (a reference's "another" or "the" listed is still a list, not a claim)."""
    items = [_words(item) for item in re.split(r"[,;]", segment)]
    items = [i for i in items if i]
    if items and items[-1][0].lower() in {"and", "or"}:
        items[-1] = items[-1][1:]
    return [i for i in items if i]


def is_enumeration(segment: str, topic: str, min_items: int = COMMA_ITEMS) -> bool:
    """A comma-separated run of the topic's terms, one or two words per item, no code."""
    items = _enumeration_items(segment)
    if len(items) < min_items or _CODE.search(segment):
        return False
    # the first item may carry a label word ("Also location"), the others must be short
    if any(len(i) > COMMA_ITEM_WORDS for i in items[1:]) or len(items[0]) > COMMA_ITEM_WORDS + 1:
        return False
    return known_share(" ".join(w for i in items[1:] for w in i), topic) >= LIST_TOPIC_SHARE


def _segments(answer: str) -> list[tuple[int, str]]:
    """(start offset, text) of the answer's segments, as term_list_segments cuts them."""
    out, start = [], 0
    for m in _SEGMENT_BREAK.finditer(answer):
        out.append((start, answer[start : m.start()]))
        start = m.end()
    out.append((start, answer[start:]))
    return [(i, t) for i, t in out if _words(t)]


def without_trailing_list(answer: str, topic: str) -> str | None:
    """The answer without a list of the topic's terms at its end (a last segment that is an
    enumeration or a term list, or a run of terms ending the answer), None when it has no
    such tail. Scored as well, so that an appended list can never raise a score."""
    parts = _segments(answer)
    if len(parts) > 1:
        start, last = parts[-1]
        if is_enumeration(last, topic, TAIL_FLOOR_ITEMS) or term_list_segments(last, topic):
            head = answer[:start].rstrip(" \n:-(")
            # a label before the list ("Keywords:", "Important terms:") goes with it
            label = re.search(r"(?:^|[.!?]\s+|\n)([A-Za-z ]{1,30})$", head)
            if label and answer[label.end(1) : start].lstrip().startswith(":"):
                head = head[: label.start(1)].rstrip()
            return head or None
    run = trailing_terms(answer, topic)
    if run >= TAIL_FLOOR_ITEMS:
        words = list(re.finditer(r"[A-Za-z0-9][A-Za-z0-9'+#-]*", answer))
        if len(words) > run:
            return answer[: words[-run].start()].rstrip(" ,;\n:-(") or None
    return None


def term_list_segments(answer: str, topic: str) -> list[str]:
    """Segments (sentences, lines, after a colon or a dash) that are lists of the topic's
    terms: several words, hardly a function word among them, most of them the topic's."""
    out = []
    for position, segment in enumerate(_SEGMENT_BREAK.split(_joined_short_lines(answer))):
        words = _words(segment)
        if is_enumeration(segment, topic) or (
            len(words) >= LIST_MIN_TERMS
            and not _CODE.search(segment)
            and known_share(segment, topic) >= LIST_TOPIC_SHARE
            and (
                function_share(segment) <= LIST_FUNCTION_SHARE
                or (
                    position > 0  # appended after the answer's first sentence
                    and len(words) <= LIST_LOOSE_MAX_WORDS
                    and function_share(segment) <= LIST_LOOSE_FUNCTION_SHARE
                    and MODEL.order_gain(segment) < LIST_ORDER_GAIN
                )
            )
        ):
            out.append(segment.strip())
    return out


def trailing_terms(answer: str, topic: str) -> int:
    """How many of the topic's words end the answer without a function word between them
    (commas allowed): terms appended to a sentence. A run that starts a segment (after a
    full stop, a line break, a colon) counts in full; a run that continues a sentence counts
    only from TAIL_RUN_ON words on, as prose ends in runs of a few content words too ("the
    lower growth rate eventually wins"). 0 when the run is mostly other words."""
    tokens = [t for t in _TOKEN.findall(answer) if t not in {"\n"}]
    while tokens and not tokens[-1][0].isalnum():
        tokens.pop()
    run: list[str] = []
    starts_segment = False
    for index in range(len(tokens) - 1, -1, -1):
        token = tokens[index]
        if token in {",", ";"}:
            continue
        if not token[0].isalnum() or token_class(token) not in _CONTENT_CLASSES:
            starts_segment = not token[0].isalnum() and token not in {",", ";"}
            break
        run.append(token)
    if len(run) == len(_words(answer)):  # the whole answer: term_list_segments decides
        return 0
    if known_share(" ".join(run), topic) < LIST_TOPIC_SHARE:
        return 0
    if not starts_segment and len(run) < TAIL_RUN_ON:
        return 0
    return len(run)


def question_remainder(answer: str, question: str) -> tuple[float, str]:
    """(share of the answer's words in runs of QUESTION_RUN or more words taken from the
    question, the answer's other words). The rest is what the answer adds to the question;
    it is measured on its own because, inside a restated question, even generic words ("it
    is important to understand ... used in practice") take on the question's meaning in
    contextual word vectors, and so seem to cover the reference."""
    words = _WORD.findall(answer.lower())
    asked = _WORD.findall(question.lower())
    runs = {tuple(asked[i : i + QUESTION_RUN]) for i in range(len(asked) - QUESTION_RUN + 1)}
    taken = [False] * len(words)
    for i in range(len(words) - QUESTION_RUN + 1):
        if tuple(words[i : i + QUESTION_RUN]) in runs:
            taken[i : i + QUESTION_RUN] = [True] * QUESTION_RUN
    if not words:
        return 0.0, ""
    rest = " ".join(w for w, t in zip(words, taken, strict=True) if not t)
    return sum(taken) / len(words), rest


def restates(m: ContentMeasures) -> bool:
    """The question said back with nothing of the answer added (see question_remainder)."""
    if m.question_share < RESTATE_SHARE or m.remainder_recall is None:
        return False
    return m.remainder_recall < REMAINDER_RECALL and (m.remainder_cosine or 0.0) < REMAINDER_COSINE


def _stem_pairs(text: str) -> set[tuple[str, str]]:
    words = _WORD.findall(text.lower())
    return set(itertools.pairwise(words))


def is_shuffle(answer: str, question: str, reference: str) -> bool:
    """The words of question and reference, in an order that carries no meaning."""
    words = _WORD.findall(answer.lower())
    if len(words) < MIN_WORDS_FOR_ORDER:
        return False
    known = set(_WORD.findall(f"{question} {reference}".lower()))
    share = sum(1 for w in words if w in known) / len(words)
    if share < SHUFFLE_SHARE:
        return False
    pairs = _stem_pairs(answer)
    kept = len(pairs & _stem_pairs(f"{question} . {reference}")) / len(pairs) if pairs else 0.0
    return kept < SHUFFLE_PAIRS and MODEL.order_gain(answer) < SHUFFLE_ORDER_GAIN


def judge(
    answer: str, question: str, reference: str, measures: ContentMeasures
) -> tuple[EssayFlag, ...]:
    """The flags of one answer, in a stable order; empty for a genuine attempt."""
    m = measures
    flags: list[EssayFlag] = []
    if not _words(answer) or is_refusal(answer, m.novel_content, m.recall):
        return (EssayFlag.NO_ANSWER,)
    if (
        m.reference_words >= ESSAY_LENGTH_REFERENCE
        and m.novel_content < TOO_SHORT_WORDS
        and m.recall < TOO_SHORT_RECALL
    ):
        flags.append(EssayFlag.TOO_SHORT)
    essay_length = m.reference_words >= ESSAY_LENGTH_REFERENCE
    if (m.cos_question_reference < OFF_TOPIC_COSINE and m.recall < OFF_TOPIC_RECALL) or (
        # An essay answer that says nothing of a long reference: generic text ("a reasoned
        # answer that explains the idea") that is near the topic only in its tone.
        essay_length
        and m.cos_question_reference < ESSAY_OFF_TOPIC_COSINE
        and m.recall < ESSAY_OFF_TOPIC_RECALL
    ):
        flags.append(EssayFlag.OFF_TOPIC)
    if (
        m.cos_other_question is not None
        and m.cos_other_question - m.cos_question_reference > OTHER_QUESTION_MARGIN
        and m.recall < OTHER_QUESTION_RECALL
    ):
        flags.append(EssayFlag.OTHER_QUESTION)
    if (
        m.novel_content == 0
        or restates(m)
        or (
            m.recall < RESTATE_RECALL
            and (
                (m.cos_question > RESTATE_COSINE and m.novel_content <= 1)
                or (
                    m.cos_question_whole > RESTATE_CLOSE_COSINE and m.novel_content <= RESTATE_WORDS
                )
            )
        )
    ):
        flags.append(EssayFlag.RESTATES_QUESTION)
    if (
        is_shuffle(answer, question, reference)
        or term_list_segments(answer, f"{question} {reference}")
        or trailing_terms(answer, f"{question} {reference}") >= TAIL_RUN
    ):
        flags.append(EssayFlag.KEYWORD_LIST)
    return tuple(flags)
