"""What goes into the vector index for a credential, and what is asked of it for a profile.

A credential becomes a few short passages ("chunks"): a header naming it, its provider, level
and topics, then its description two sentences at a time, each prefixed with the title so a
passage still says what it is about on its own. Retrieval asks one question per weak domain and
per high interest (plus one for the track when the profile has neither), because a single query
mixing "weak in networking" with "loves machine learning" finds neither well. A credential's
similarity is its best passage's; the passages that matched are its trace.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from domain.essay_local import split_sentences
from domain.profile import Band, Level, SkillProfile
from domain.recommend import Evidence

SENTENCES_PER_CHUNK = 2
MAX_DOMAIN_QUERIES = 3
MAX_INTEREST_QUERIES = 2
SNIPPETS_PER_ITEM = 2

DOMAIN_TEXT: Mapping[str, str] = {
    "programming": "programming and software development: writing, testing and debugging code "
    "in languages such as Python, Java and C",
    "algorithms": "algorithms and data structures: problem solving, complexity, sorting, "
    "searching, graphs and coding interviews",
    "databases": "databases: SQL queries, relational data modelling, NoSQL stores and database "
    "administration",
    "networking": "computer networking: TCP/IP, routing, switching, subnetting and network "
    "administration",
    "security": "cybersecurity: security fundamentals, threats, defence, incident response and "
    "ethical hacking",
    "cloud-devops": "cloud computing and DevOps: AWS, Azure, Google Cloud, containers, "
    "Kubernetes, infrastructure as code and CI/CD",
    "data-ml": "data science and machine learning: data analysis, statistics, machine learning "
    "models and AI",
    "web": "web development: HTML, CSS, JavaScript, front-end frameworks and back-end web "
    "applications",
}
AREA_TEXT: Mapping[str, str] = {
    "data": "data analysis, data engineering, SQL and statistics",
    "ml": "machine learning, deep learning and artificial intelligence",
    "web": DOMAIN_TEXT["web"],
    "security": DOMAIN_TEXT["security"],
    "cloud": DOMAIN_TEXT["cloud-devops"],
    "software": "software engineering and programming",
    "networking": DOMAIN_TEXT["networking"],
    "databases": DOMAIN_TEXT["databases"],
}
TRACK_TEXT: Mapping[str, str] = {
    "data": AREA_TEXT["data"] + " and machine learning",
    "web": DOMAIN_TEXT["web"],
    "cloud": DOMAIN_TEXT["cloud-devops"],
    "security": DOMAIN_TEXT["security"],
    "software": AREA_TEXT["software"],
    "general": "foundations of information technology: programming, networking, security and cloud",
}
BAND_TEXT: Mapping[Band, str] = {
    Band.BEGINNER: "a beginner-friendly, foundational introduction",
    Band.INTERMEDIATE: "an intermediate, associate-level credential",
    Band.ADVANCED: "an advanced, professional-level credential",
}
LEVEL_TEXT = {"beginner": "beginner", "intermediate": "intermediate", "advanced": "advanced"}


@dataclass(frozen=True)
class CatalogEntry:
    """What the index needs to know about a credential."""

    key: str  # the credential's id
    slug: str
    title: str
    provider: str | None
    description: str
    tags: tuple[str, ...]
    domains: tuple[str, ...]
    level: str | None  # domain.catalog.Level value


@dataclass(frozen=True)
class Chunk:
    id: str  # "<credential key>:<n>": stable, so re-indexing replaces rather than adds
    document: str  # what is embedded
    snippet: str  # what a student may be shown as the source


@dataclass(frozen=True)
class Query:
    reason: str  # "gap:networking", "interest:ml", "track:web"
    text: str


@dataclass(frozen=True)
class Hit:
    """One passage returned for one query."""

    credential_key: str
    snippet: str
    similarity: float  # cosine similarity, -1..1
    query: str = ""  # the query's reason (the need it was asked for)


@dataclass
class Retrieved:
    credential_key: str
    similarity: float
    evidence: list[Evidence] = field(default_factory=list)
    by_query: dict[str, float] = field(default_factory=dict)  # reason -> best similarity


def chunks_of(entry: CatalogEntry) -> list[Chunk]:
    topics = ", ".join(
        [DOMAIN_TEXT.get(d, d).split(":")[0] for d in entry.domains] + list(entry.tags)
    )
    level = LEVEL_TEXT.get(entry.level or "", "")
    header_snippet = entry.title + (f" ({entry.provider})" if entry.provider else "")
    header_snippet += f", {level} level" if level else ""
    header_snippet += f"; topics: {topics}." if topics else "."
    chunks = [Chunk(f"{entry.key}:0", header_snippet, header_snippet)]
    sentences = split_sentences(" ".join(entry.description.split()))
    for n, start in enumerate(range(0, len(sentences), SENTENCES_PER_CHUNK), start=1):
        passage = " ".join(sentences[start : start + SENTENCES_PER_CHUNK])
        chunks.append(Chunk(f"{entry.key}:{n}", f"{entry.title}: {passage}", passage))
    return chunks


def content_hash(entry: CatalogEntry, model: str) -> str:
    """Changes when anything embedded changes (or the model does): unchanged credentials are
    not embedded again on a rebuild."""
    digest = hashlib.sha256(model.encode())
    for chunk in chunks_of(entry):
        digest.update(b"\x00" + chunk.id.encode() + b"\x01" + chunk.document.encode())
    return digest.hexdigest()[:32]


def queries_for(profile: SkillProfile, track: str) -> list[Query]:
    level = BAND_TEXT[profile.band]
    queries: list[Query] = []
    for domain in profile.improvements[:MAX_DOMAIN_QUERIES]:
        topic = DOMAIN_TEXT.get(domain, domain)
        queries.append(Query(f"gap:{domain}", f"{level} to build skills in {topic}"))
    high = [s.area for s in profile.interests if s.level is Level.HIGH]
    for area in high[:MAX_INTEREST_QUERIES]:
        topic = AREA_TEXT.get(area, area)
        queries.append(Query(f"interest:{area}", f"{level} for a student interested in {topic}"))
    if not queries:
        topic = TRACK_TEXT.get(track, TRACK_TEXT["general"])
        queries.append(Query(f"track:{track}", f"{level} in {topic}"))
    return queries


def merge_hits(hits: Iterable[Hit]) -> dict[str, Retrieved]:
    """Per credential: the best similarity over its passages and queries, and the passages
    that matched best (the trace), best first."""
    ranked = sorted(hits, key=lambda h: -h.similarity)
    merged: dict[str, Retrieved] = {}
    for hit in ranked:
        found = merged.setdefault(hit.credential_key, Retrieved(hit.credential_key, hit.similarity))
        found.by_query.setdefault(hit.query, hit.similarity)
        known = {e.snippet for e in found.evidence}
        if hit.snippet and hit.snippet not in known and len(found.evidence) < SNIPPETS_PER_ITEM:
            found.evidence.append(Evidence(hit.snippet, round(hit.similarity, 4)))
    return merged


def collection_name(prefix: str, provider: str, model: str) -> str:
    """Chroma's rules: 3-512 characters of [a-zA-Z0-9._-], starting and ending alphanumeric.
    The model is part of the name so vectors of two models never share a collection."""
    raw = f"{prefix}-{provider}-{model}".lower()
    name = re.sub(r"[^a-z0-9._-]+", "-", raw).strip("-._")
    return name[:512] if len(name) >= 3 else f"{name}-index"


def similarity_from_distance(distance: float) -> float:
    """Chroma's cosine distance is 1 - cosine similarity."""
    return 1.0 - distance


def top_similarity(retrieved: Sequence[Retrieved]) -> float | None:
    return max((r.similarity for r in retrieved), default=None)
