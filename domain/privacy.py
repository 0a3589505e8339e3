"""Personal data rules (NFR6): what the audit trail may keep about a person once they are erased.

An erased person's audit events stay (the service must still be able to say what happened), but
nothing in them may point back at the person: their public id as actor becomes ERASED_ACTOR,
resources that named them or their erased rows go, and the meta keeps only reviewed keys whose
values name no one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

ERASED_ACTOR = "erased-user"

# Meta keys whose values are the service's own vocabulary (roles, reasons, flags, counts, tracks,
# question domains, catalogue slugs, webhook settings), never something a person typed. A key
# not listed here is dropped when an event is anonymised: whoever adds a new key to an audit
# event has to review it here before it may outlive the person.
NON_PERSONAL_META_KEYS = frozenset(
    {
        "accepted",
        "active",
        "allowIncomplete",
        "changed",
        "composition",
        "domain",
        "erased",
        "events",
        "expiresInHours",
        "fields",
        "outcome",
        "reason",
        "revokedTokens",
        "role",
        "selfService",
        "slug",
        "track",
        "type",
        "url",
    }
)


@dataclass(frozen=True)
class ErasedPerson:
    """Who is being erased, as the strings that could point back at them."""

    public_id: str
    # Email, name, public id and raw UUID spellings: no kept value may contain one of them.
    identifiers: frozenset[str]
    # Public ids of the person and of their erased rows (assessments, recommendations...): an
    # audit event's resource naming one of them is dropped.
    resources: frozenset[str]

    @classmethod
    def of(
        cls,
        public_id: str,
        identifiers: Iterable[str | None],
        resources: Iterable[str] = (),
    ) -> ErasedPerson:
        cleaned = frozenset(i.strip().lower() for i in identifiers if i and i.strip())
        return cls(
            public_id=public_id,
            identifiers=cleaned | {public_id.lower()},
            resources=frozenset(resources) | {public_id},
        )

    def is_named_in(self, text: str) -> bool:
        lowered = text.lower()
        return any(identifier in lowered for identifier in self.identifiers)


@dataclass(frozen=True)
class AuditTrace:
    """The fields of an audit event that can point at a person."""

    actor: str | None
    resource: str | None
    meta: dict[str, object] | None


def anonymise(trace: AuditTrace, person: ErasedPerson) -> AuditTrace:
    """The event as it may be kept after `person` is erased. Other actors (an advisor who read
    the person's result, an admin who retried their assessment) stay: they are still here and
    accountable; only the link to the erased person goes."""
    actor = ERASED_ACTOR if trace.actor == person.public_id else trace.actor
    resource = trace.resource
    if resource is not None and (resource in person.resources or person.is_named_in(resource)):
        resource = None
    return AuditTrace(actor=actor, resource=resource, meta=scrub_meta(trace.meta, person))


def scrub_meta(meta: Mapping[str, object] | None, person: ErasedPerson) -> dict[str, object] | None:
    """Reviewed keys only, and within them no value naming the person or looking like an
    email address. None when nothing is left."""
    if not meta:
        return None
    kept = {
        key: _scrubbed(value, person)
        for key, value in meta.items()
        if key in NON_PERSONAL_META_KEYS
    }
    kept = {key: value for key, value in kept.items() if value is not _DROPPED}
    return kept or None


_DROPPED = object()


def _scrubbed(value: object, person: ErasedPerson) -> object:
    if isinstance(value, str):
        return _DROPPED if "@" in value or person.is_named_in(value) else value
    if isinstance(value, Mapping):
        inner = {str(k): _scrubbed(v, person) for k, v in value.items()}
        return {k: v for k, v in inner.items() if v is not _DROPPED and not person.is_named_in(k)}
    if isinstance(value, list | tuple):
        return [v for v in (_scrubbed(item, person) for item in value) if v is not _DROPPED]
    return value  # numbers, booleans and null name no one
