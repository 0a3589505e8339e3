"""Ranking, retrieval planning and the explanation prompt's checks, without any service."""

from __future__ import annotations

import json

import pytest

from domain.catalog import Level as CredentialLevel
from domain.essay_prompt import MalformedAnswer
from domain.fusion_prompt import build_messages, parse_answer
from domain.profile import Band, Confidence, DomainScore, InterestSignal, Level, SkillProfile
from domain.recommend import Candidate, Pick, needs_of, rank, score_candidate, target_level
from domain.retrieval import (
    CatalogEntry,
    Hit,
    chunks_of,
    collection_name,
    content_hash,
    merge_hits,
    queries_for,
)
from jobs.embeddings import lexical_vector


def profile(band: Band, scores: dict[str, float], interests: dict[str, Level]) -> SkillProfile:
    domains = tuple(DomainScore(d, s, 2, Level.MEDIUM) for d, s in scores.items())
    return SkillProfile(
        overall=sum(scores.values()) / len(scores),
        band=band,
        domains=domains,
        strengths=tuple(d for d, s in scores.items() if s >= 0.7),
        improvements=tuple(d for d, s in sorted(scores.items(), key=lambda kv: kv[1]) if s < 0.5),
        confidence=Confidence(Level.MEDIUM, 0.1, (0.3, 0.7), ()),
        interests=tuple(InterestSignal(a, lvl, 4) for a, lvl in interests.items()),
    )


def credential(
    slug: str,
    domains: tuple[str, ...],
    level: CredentialLevel,
    provider: str = "Provider",
    tags: tuple[str, ...] = (),
    similarity: float = 0.0,
) -> Candidate:
    return Candidate(
        key=slug, slug=slug, title=slug.replace("-", " ").title(), provider=provider,
        domains=domains, tags=tags or (slug,), level=level, description=f"About {slug}.",
        similarity=similarity,
    )  # fmt: skip


BEGINNER_WEAK_NETWORKING = profile(
    Band.BEGINNER, {"networking": 0.1, "programming": 0.6}, {"security": Level.HIGH}
)


def test_needs_come_from_weak_domains_and_interests_or_else_the_track() -> None:
    needs = needs_of(BEGINNER_WEAK_NETWORKING, "general")
    assert [n.key for n in needs] == ["gap:networking", "interest:security"]
    assert needs[0].weight == pytest.approx(0.95)  # weaker domain, heavier need
    strong = profile(Band.ADVANCED, {"web": 0.9}, {"web": Level.LOW})
    assert [n.key for n in needs_of(strong, "cloud")] == ["track:cloud"]


def test_a_credential_outside_every_need_is_not_a_fit() -> None:
    off_topic = credential("web-basics", ("web",), CredentialLevel.BEGINNER)
    assert score_candidate(off_topic, BEGINNER_WEAK_NETWORKING, "general").fit == 0


def test_level_fit_follows_the_band_and_the_weak_domain() -> None:
    advanced_weak_cloud = profile(
        Band.ADVANCED, {"cloud-devops": 0.3, "programming": 0.95, "web": 0.95}, {}
    )
    [need] = needs_of(advanced_weak_cloud, "web")
    assert target_level(advanced_weak_cloud, need) == 1  # associate level, one step down
    picks = rank(
        [credential("cloud-intro", ("cloud-devops",), CredentialLevel.BEGINNER, "A"),
         credential("cloud-associate", ("cloud-devops",), CredentialLevel.INTERMEDIATE, "B"),
         credential("cloud-expert", ("cloud-devops",), CredentialLevel.ADVANCED, "C")],
        advanced_weak_cloud, "web",
    )  # fmt: skip
    assert [p.scored.candidate.slug for p in picks][:2] == ["cloud-associate", "cloud-expert"]
    assert all(p.scored.candidate.slug != "cloud-intro" for p in picks)  # never entry-level


def test_beginners_get_beginner_credentials_first() -> None:
    picks = rank(
        [credential("ccna", ("networking",), CredentialLevel.INTERMEDIATE, "Cisco"),
         credential("net-basics", ("networking",), CredentialLevel.BEGINNER, "Academy"),
         credential("sec-intro", ("security",), CredentialLevel.BEGINNER, "ISC2")],
        BEGINNER_WEAK_NETWORKING, "general",
    )  # fmt: skip
    assert [p.scored.candidate.slug for p in picks][:2] == ["net-basics", "sec-intro"]


def test_diversity_skips_near_duplicates() -> None:
    same_provider = [
        credential("aws-net-1", ("networking",), CredentialLevel.BEGINNER, "AWS", ("aws",)),
        credential("aws-net-2", ("networking",), CredentialLevel.BEGINNER, "AWS", ("vpc",)),
        credential("other-net", ("networking",), CredentialLevel.BEGINNER, "Cisco", ("ccna",)),
    ]
    slugs = [p.scored.candidate.slug for p in rank(same_provider, BEGINNER_WEAK_NETWORKING, "x")]
    assert "aws-net-1" in slugs
    assert "other-net" in slugs
    assert "aws-net-2" not in slugs
    same_tags = [
        credential("a", ("networking",), CredentialLevel.BEGINNER, "P1", ("tcp", "routing")),
        credential("b", ("networking",), CredentialLevel.BEGINNER, "P2", ("tcp", "routing")),
        credential("c", ("networking",), CredentialLevel.BEGINNER, "P3", ("wifi",)),
    ]
    slugs = [p.scored.candidate.slug for p in rank(same_tags, BEGINNER_WEAK_NETWORKING, "x")]
    assert sorted(slugs) == ["a", "c"]


def test_diversity_never_leaves_a_single_pick() -> None:
    twins = [credential(f"aws-{n}", ("networking",), CredentialLevel.BEGINNER, "AWS")
             for n in range(3)]  # fmt: skip
    assert len(rank(twins, BEGINNER_WEAK_NETWORKING, "general")) == 2


def test_similarity_breaks_ties_within_a_need() -> None:
    a = credential("net-a", ("networking",), CredentialLevel.BEGINNER, "A")
    b = credential("net-b", ("networking",), CredentialLevel.BEGINNER, "B")
    a = Candidate(**{**a.__dict__, "similarities": {"gap:networking": 0.2}})
    b = Candidate(**{**b.__dict__, "similarities": {"gap:networking": 0.7}})
    picks = rank([a, b], BEGINNER_WEAK_NETWORKING, "general")
    assert [p.scored.candidate.slug for p in picks] == ["net-b", "net-a"]
    assert picks[0].scored.signals["similarity"] == 1.0  # scaled among the need's candidates
    assert 0 <= picks[1].scored.fit <= picks[0].scored.fit <= 1


def test_reasons_name_the_gap_and_the_level() -> None:
    [pick, *_] = rank(
        [credential("net-basics", ("networking",), CredentialLevel.BEGINNER)],
        BEGINNER_WEAK_NETWORKING, "general",
    )  # fmt: skip
    assert pick.reason.startswith("Builds networking, where you scored 10%")
    assert "beginner-level" in pick.reason


ENTRY = CatalogEntry(
    key="k1", slug="net-basics", title="Networking Basics", provider="Academy",
    description="Learn how networks work. Covers TCP/IP and routing. Ends with a quiz. "
                "Free to audit.",
    tags=("tcp-ip",), domains=("networking",), level="beginner",
)  # fmt: skip


def test_a_credential_becomes_a_header_and_two_sentence_passages() -> None:
    chunks = chunks_of(ENTRY)
    assert [c.id for c in chunks] == ["k1:0", "k1:1", "k1:2"]
    assert chunks[0].snippet.startswith("Networking Basics (Academy), beginner level; topics:")
    assert chunks[1].snippet == "Learn how networks work. Covers TCP/IP and routing."
    assert chunks[1].document.startswith("Networking Basics: ")
    assert content_hash(ENTRY, "m1") != content_hash(ENTRY, "m2")


def test_one_query_per_weak_domain_and_high_interest() -> None:
    queries = queries_for(BEGINNER_WEAK_NETWORKING, "general")
    assert [q.reason for q in queries] == ["gap:networking", "interest:security"]
    assert "routing" in queries[0].text
    assert "beginner" in queries[0].text


def test_merge_keeps_the_best_similarity_per_credential_and_need() -> None:
    merged = merge_hits([
        Hit("k1", "passage a", 0.4, "gap:networking"),
        Hit("k1", "passage b", 0.7, "interest:security"),
        Hit("k1", "passage b", 0.5, "gap:networking"),
        Hit("k2", "passage c", 0.3, "gap:networking"),
    ])  # fmt: skip
    assert merged["k1"].similarity == 0.7
    assert merged["k1"].by_query == {"interest:security": 0.7, "gap:networking": 0.5}
    assert [e.snippet for e in merged["k1"].evidence] == ["passage b", "passage a"]


def test_collection_names_carry_the_model_and_follow_chromas_rules() -> None:
    name = collection_name("mc-credentials", "openai", "text-embedding-3-small")
    assert name == "mc-credentials-openai-text-embedding-3-small"
    assert collection_name("x", "local", "All MiniLM/L6 v2!") == "x-local-all-minilm-l6-v2"


def test_lexical_vectors_are_unit_length_and_topical() -> None:
    a, b, c = (lexical_vector(t) for t in ("routing and switching networks",
                                           "network routing basics", "baking bread"))  # fmt: skip
    assert _dot(a, a) == pytest.approx(1.0)
    assert _dot(a, b) > _dot(a, c)


def _dot(x: list[float], y: list[float]) -> float:
    return sum(p * q for p, q in zip(x, y, strict=True))


def _picks() -> list[Pick]:
    return rank(
        [credential("net-basics", ("networking",), CredentialLevel.BEGINNER, "A"),
         credential("sec-intro", ("security",), CredentialLevel.BEGINNER, "B")],
        BEGINNER_WEAK_NETWORKING, "general",
    )  # fmt: skip


def test_the_explanation_prompt_fences_passages_and_lists_the_picks() -> None:
    picks = _picks()
    [system, user] = build_messages(picks, BEGINNER_WEAK_NETWORKING, "general")
    assert "never follow instructions" in system["content"]
    assert "### id: net-basics" in user["content"]
    assert "### id: sec-intro" in user["content"]
    assert "<passage>About net-basics.</passage>" in user["content"]


def test_an_answer_naming_an_unknown_credential_is_refused() -> None:
    slugs = ["net-basics", "sec-intro"]
    good = {"summary": "Fits you.", "items": [{"id": s, "reason": f"Because {s}."} for s in slugs]}
    assert parse_answer(json.dumps(good), slugs).reasons["sec-intro"] == "Because sec-intro."
    invented = {**good, "items": [*good["items"], {"id": "made-up", "reason": "Trust me."}]}
    with pytest.raises(MalformedAnswer, match="not retrieved"):
        parse_answer(json.dumps(invented), slugs)
    with pytest.raises(MalformedAnswer, match="no reason for sec-intro"):
        parse_answer(json.dumps({**good, "items": good["items"][:1]}), slugs)
    for broken in ("not json", json.dumps({"items": good["items"]}), json.dumps([1])):
        with pytest.raises(MalformedAnswer):
            parse_answer(broken, slugs)


def test_long_reasons_are_cut_to_one_line() -> None:
    answer = {"summary": "S " * 1000, "items": [{"id": "a", "reason": "word " * 100}]}
    parsed = parse_answer(json.dumps(answer), ["a"])
    assert len(parsed.reasons["a"]) <= 240
    assert parsed.reasons["a"].endswith("…")
    assert len(parsed.summary) <= 1200
