"""Reads the seed files, validates every item with the same rules as the API, and upserts by
stable keys (question `key`, credential `slug`, form `name`, track `name`).

Everything is validated before anything is written: one bad item means nothing is written, and
the message names the file, the item and the field."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.ext.asyncio import AsyncSession

from db.database import Database
from db.repositories import catalog as catalog_repo
from db.repositories import forms as forms_repo
from db.repositories import questions as questions_repo
from db.repositories import tracks as tracks_repo
from domain.catalog import CredentialDraft, CredentialSpec, Level, validate_credential
from domain.composition import Composition, check_composition, check_expiry_hours
from domain.errors import DomainError, Problems
from domain.questions import Criterion, QuestionDraft, QuestionSpec, QuestionType, Scale
from domain.questions import validate_question as validate_question_rules
from domain.tracks import Blueprint, BlueprintDraft, validate_blueprint

SEEDS = Path(__file__).resolve().parent
DEFAULT_FILES = {
    "questions": SEEDS / "questions.yaml",
    "catalog": SEEDS / "catalog.yaml",
    "forms": SEEDS / "forms.yaml",
    "tracks": SEEDS / "tracks.yaml",
}


class SeedError(Exception):
    """Every problem found in the seed files, one per line."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        super().__init__("\n".join(lines))


@dataclass
class Tally:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: str | None = None

    def line(self, kind: str) -> str:
        if self.skipped:
            return f"{kind}: skipped ({self.skipped})"
        return (
            f"{kind}: {len(self.created)} created, {len(self.updated)} updated, "
            f"{len(self.unchanged)} unchanged"
        )


@dataclass
class SeedData:
    questions: list[tuple[str, QuestionSpec]] = field(default_factory=list)
    credentials: list[CredentialSpec] = field(default_factory=list)
    forms: list[tuple[str, Composition, int]] = field(default_factory=list)
    tracks: list[Blueprint] = field(default_factory=list)


# ---------------------------------------------------------------- parsing


def _read(path: Path, section: str, errors: list[str]) -> list[dict[str, Any]]:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        errors.append(f"{path}: cannot read: {exc.strerror or exc}")
        return []
    except yaml.YAMLError as exc:
        errors.append(f"{path}: not valid YAML: {exc}")
        return []
    if not isinstance(document, dict) or not isinstance(document.get(section), list):
        errors.append(f"{path}: expected a mapping with a '{section}' list")
        return []
    items = document[section]
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            errors.append(f"{path}: item {index + 1}: expected a mapping")
    return [item for item in items if isinstance(item, dict)]


def _problem_lines(path: Path, label: str, exc: DomainError) -> list[str]:
    return [
        f"{path}: {label}: field {'.'.join(p.field or ('?',))}: {p.message}" for p in exc.problems
    ]


def _checked(
    path: Path,
    items: Iterable[dict[str, Any]],
    key_field: str,
    build: Callable[[dict[str, Any]], Any],
    errors: list[str],
) -> list[tuple[str, Any]]:
    results: list[tuple[str, Any]] = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        key = str(item.get(key_field) or "")
        label = f"item {index + 1} ({key or f'no {key_field}'})"
        if not key:
            errors.append(f"{path}: {label}: field {key_field}: required")
            continue
        if key in seen:
            errors.append(f"{path}: {label}: field {key_field}: duplicate '{key}'")
            continue
        seen.add(key)
        try:
            results.append((key, build(item)))
        except DomainError as exc:
            errors.extend(_problem_lines(path, label, exc))
        except (KeyError, TypeError, ValueError) as exc:
            errors.append(f"{path}: {label}: {_describe(exc)}")
    return results


def _describe(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"field {exc.args[0]}: required"
    return f"invalid value: {exc}"


def _question(item: dict[str, Any]) -> QuestionSpec:
    try:
        qtype = QuestionType[str(item["type"]).upper()]
    except KeyError:
        raise ValueError(f"type must be one of {', '.join(t.name for t in QuestionType)}") from None
    scale = item.get("scale")
    rubric = item.get("rubric")
    draft = QuestionDraft(
        type=qtype,
        prompt=str(item["prompt"]),
        domain=str(item["domain"]),
        tracks=[str(t) for t in item.get("tracks") or ["general"]],
        difficulty=int(item["difficulty"]) if item.get("difficulty") is not None else None,
        options=[str(o) for o in item["options"]] if "options" in item else None,
        correct=str(item["correct"]) if "correct" in item else None,
        rubric=(
            [
                Criterion(str(c["name"]), c.get("description"), float(c.get("weight", 1.0)))
                for c in rubric
            ]
            if rubric
            else None
        ),
        reference_answer=item.get("reference_answer"),
        key_points=[str(p) for p in item["key_points"]] if "key_points" in item else None,
        scale=(
            Scale(
                int(scale.get("min", 1)),
                int(scale.get("max", 5)),
                scale.get("min_label"),
                scale.get("max_label"),
            )
            if isinstance(scale, dict)
            else None
        ),
        interest_area=item.get("interest_area"),
        active=bool(item.get("active", True)),
    )
    return validate_question_rules(draft)


def _credential(item: dict[str, Any]) -> CredentialSpec:
    level = item.get("level")
    draft = CredentialDraft(
        slug=str(item["slug"]),
        title=str(item["title"]),
        provider=item.get("provider"),
        url=item.get("url"),
        description=item.get("description"),
        tags=[str(t) for t in item.get("tags") or []],
        domains=[str(d) for d in item.get("domains") or []],
        level=Level(str(level).lower()) if level else None,
        active=bool(item.get("active", True)),
    )
    return validate_credential(draft)


def _form(item: dict[str, Any]) -> tuple[Composition, int]:
    raw = item["composition"]
    composition = Composition(int(raw["theoretical"]), int(raw["essay"]), int(raw["profile"]))
    hours = int(item.get("expires_in_hours", 168))
    problems = Problems()
    check_composition(composition, problems, "composition")
    check_expiry_hours(hours, problems, "expires_in_hours")
    problems.raise_if_any()
    return composition, hours


def _track_draft(item: dict[str, Any]) -> BlueprintDraft:
    domains = item["domains"]
    if not isinstance(domains, list) or not all(isinstance(d, dict) for d in domains):
        raise ValueError("domains must be a list of {domain, weight}")
    return BlueprintDraft(
        name=str(item["name"]),
        title=str(item["title"]),
        description=str(item.get("description") or ""),
        domains=[(str(d["domain"]), int(d["weight"])) for d in domains],
    )


def _track(item: dict[str, Any]) -> Blueprint:
    # Whether each domain holds questions is checked against the bank when writing.
    return validate_blueprint(_track_draft(item), None)


def parse(files: dict[str, Path]) -> SeedData:
    """Validate every given file; SeedError lists every problem found."""
    errors: list[str] = []
    data = SeedData()
    if path := files.get("questions"):
        data.questions = _checked(path, _read(path, "questions", errors), "key", _question, errors)
    if path := files.get("catalog"):
        pairs = _checked(path, _read(path, "credentials", errors), "slug", _credential, errors)
        data.credentials = [spec for _, spec in pairs]
    if path := files.get("forms"):
        pairs = _checked(path, _read(path, "forms", errors), "name", _form, errors)
        data.forms = [(name, composition, hours) for name, (composition, hours) in pairs]
    if path := files.get("tracks"):
        pairs = _checked(path, _read(path, "tracks", errors), "name", _track, errors)
        data.tracks = [blueprint for _, blueprint in pairs]
        scored = {
            spec.domain
            for _, spec in data.questions
            if spec.active and spec.type is not QuestionType.PROFILE
        }
        if data.questions:
            # The shipped files are checked against each other before anything is written.
            for blueprint in data.tracks:
                for index, weight in enumerate(blueprint.domains):
                    if weight.domain not in scored:
                        errors.append(
                            f"{path}: track {blueprint.name}: field domains.{index}.domain: "
                            f"'{weight.domain}' has no active scored question in the bank"
                        )
    if errors:
        raise SeedError(errors)
    return data


# ---------------------------------------------------------------- writing


async def _write_questions(session: AsyncSession, items: list[tuple[str, QuestionSpec]]) -> Tally:
    tally = Tally()
    existing = await questions_repo.by_keys(session, [key for key, _ in items])
    for key, spec in items:
        row = existing.get(key)
        if row is None:
            await questions_repo.add(session, spec, key=key)
            tally.created.append(key)
        elif row.type != spec.type.value:
            raise SeedError([f"question {key}: its type cannot change ({row.type} in the bank)"])
        elif questions_repo.apply(row, spec):
            tally.updated.append(key)
        else:
            tally.unchanged.append(key)
    await session.flush()
    return tally


async def _write_catalog(session: AsyncSession, items: list[CredentialSpec]) -> Tally:
    tally = Tally()
    for spec in items:
        _, outcome = await catalog_repo.upsert(session, spec)
        getattr(tally, outcome).append(spec.slug)
    return tally


async def _write_forms(session: AsyncSession, items: list[tuple[str, Composition, int]]) -> Tally:
    tally = Tally()
    for name, composition, hours in items:
        existing = await forms_repo.get(session, name)
        # The seed file says nothing of a retake cooldown: an admin's setting stays.
        cooldown = existing.retake_cooldown_hours if existing is not None else None
        _, changed = await forms_repo.upsert(session, name, composition, hours, cooldown)
        target = (
            tally.created if existing is None else tally.updated if changed else tally.unchanged
        )
        target.append(name)
    return tally


async def _write_tracks(session: AsyncSession, items: list[Blueprint]) -> Tally:
    tally = Tally()
    available = await tracks_repo.domains_with_scored_items(session)
    problems = [
        f"track {b.name}: field domains.{i}.domain: '{d.domain}' has no active scored question"
        for b in items
        for i, d in enumerate(b.domains)
        if d.domain not in available
    ]
    if problems:
        raise SeedError(problems)  # raised inside the transaction: nothing is kept
    for blueprint in items:
        _, outcome = await tracks_repo.upsert(session, blueprint)
        getattr(tally, outcome).append(blueprint.name)
    return tally


async def load(
    database: Database, files: dict[str, Path], *, dry_run: bool = False, if_empty: bool = False
) -> dict[str, Tally]:
    """Validate, then (unless dry_run) upsert in one transaction. With if_empty, each kind is
    loaded only when its table is empty (how `make run` seeds a fresh database)."""
    data = parse(files)
    tallies: dict[str, Tally] = {}
    async with database.transaction() as uow:
        session = uow.session
        if "questions" in files:
            if if_empty and await questions_repo.count(session):
                tallies["questions"] = Tally(skipped="the bank is not empty")
            else:
                tallies["questions"] = await _write_questions(session, data.questions)
        if "catalog" in files:
            if if_empty and await catalog_repo.count(session):
                tallies["catalog"] = Tally(skipped="the catalog is not empty")
            else:
                tallies["catalog"] = await _write_catalog(session, data.credentials)
        if "forms" in files:
            tallies["forms"] = await _write_forms(
                session,
                [
                    f
                    for f in data.forms
                    if not if_empty or await forms_repo.get(session, f[0]) is None
                ],
            )
        if "tracks" in files:
            # After the questions: a blueprint's domains must hold questions in the bank.
            tallies["tracks"] = await _write_tracks(
                session,
                [
                    t
                    for t in data.tracks
                    if not if_empty or await tracks_repo.get(session, t.name) is None
                ],
            )
        if dry_run:
            # Everything above ran (so the counts are real), then nothing is kept.
            raise _DryRun(tallies)
    return tallies


class _DryRun(Exception):
    def __init__(self, tallies: dict[str, Tally]) -> None:
        self.tallies = tallies


async def load_or_dry_run(
    database: Database, files: dict[str, Path], *, dry_run: bool, if_empty: bool
) -> dict[str, Tally]:
    try:
        return await load(database, files, dry_run=dry_run, if_empty=if_empty)
    except _DryRun as finished:
        return finished.tallies
