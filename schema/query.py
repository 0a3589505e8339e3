"""The root Query. Thin: each field hands over to a resolver function and maps the result."""

from __future__ import annotations

import strawberry

from db.tables import Assessment as AssessmentRow
from db.tables import AssessmentQuestion as AssessmentQuestionRow
from db.tables import Credential as CredentialRow
from db.tables import Job as JobRow
from db.tables import Question as QuestionRow
from db.tables import User as UserRow
from db.tables import WebhookEndpoint as WebhookRow
from domain.profile import Band
from domain.questions import QuestionType
from resolvers import analytics as analytics_resolvers
from resolvers import assessments as assessment_resolvers
from resolvers import auth as auth_resolvers
from resolvers import catalog as catalog_resolvers
from resolvers import item_stats as item_stats_resolvers
from resolvers import nodes as node_resolvers
from resolvers import ops as ops_resolvers
from resolvers import people, question_bank
from resolvers import progress as progress_resolvers
from resolvers import rag_index as rag_resolvers
from resolvers import results as result_resolvers
from resolvers import review as review_resolvers
from resolvers import tracks as track_resolvers
from resolvers import webhooks as webhook_resolvers
from resolvers.context import Context
from schema.types.assessments import (
    Assessment,
    AssessmentConnection,
    AssessmentEdge,
    AssessmentQuestion,
    Job,
)
from schema.types.audit import AuditEvent, AuditEventConnection, AuditEventEdge
from schema.types.catalog import Credential, CredentialConnection, CredentialEdge
from schema.types.common import Node, connection
from schema.types.item_stats import (
    QuestionStats,
    QuestionStatsConnection,
    QuestionStatsEdge,
    QuestionStatsFilter,
)
from schema.types.ops import Analytics, Health
from schema.types.progress import AssessmentProgress
from schema.types.questions import AssessmentForm, Question, QuestionConnection, QuestionEdge
from schema.types.rag import RagIndexStats
from schema.types.results import (
    AssessmentResult,
    Recommendation,
    RecommendationBundle,
    Scores,
    SkillProfile,
    profile_of,
    scores_of,
)
from schema.types.review import ReviewItem, ReviewItemConnection, ReviewItemEdge
from schema.types.tracks import Track
from schema.types.users import User, UserConnection, UserEdge
from schema.types.webhooks import WebhookEndpoint

Info = strawberry.Info[Context, None]


def _first(first: int | None, default: int) -> int:
    return default if first is None else first


def _to_node(row: object) -> Node | None:
    if isinstance(row, tuple):  # a recommendation item with its assessment
        item, assessment = row
        return Recommendation.from_row(item, [], assessment.user_id)
    mappers: list[tuple[type, object]] = [
        (UserRow, User.from_row),
        (AssessmentRow, Assessment.from_row),
        (AssessmentQuestionRow, AssessmentQuestion.from_row),
        (QuestionRow, Question.from_row),
        (JobRow, Job.from_row),
        (WebhookRow, WebhookEndpoint.from_row),
        (CredentialRow, Credential.from_row),
    ]
    for row_type, mapper in mappers:
        if isinstance(row, row_type):
            return mapper(row)  # type: ignore[operator,no-any-return]
    return None


@strawberry.type
class Query:
    @strawberry.field
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        return _to_node(await node_resolvers.node(info.context, str(id)))

    @strawberry.field
    async def me(self, info: Info) -> User | None:
        return User.from_row(await auth_resolvers.me(info.context))

    @strawberry.field
    async def assessment(self, info: Info, id: strawberry.ID) -> Assessment | None:
        row = await assessment_resolvers.visible(info.context, str(id))
        return Assessment.from_row(row) if row else None

    @strawberry.field
    async def my_assessments(
        self, info: Info, first: int | None = 20, after: str | None = None
    ) -> AssessmentConnection:
        page = await assessment_resolvers.mine(info.context, _first(first, 20), after)
        return connection(AssessmentConnection, AssessmentEdge, page, Assessment.from_row)

    @strawberry.field(description="FR3: the next unanswered question, null when all are answered.")
    async def next_question(
        self, info: Info, assessment_id: strawberry.ID
    ) -> AssessmentQuestion | None:
        row = await assessment_resolvers.next_question(info.context, str(assessment_id))
        return AssessmentQuestion.from_row(row) if row else None

    @strawberry.field(description="FR6: polling fallback for clients that cannot hold a websocket.")
    async def assessment_status(
        self, info: Info, assessment_id: strawberry.ID
    ) -> AssessmentProgress | None:
        found = await progress_resolvers.status(info.context, str(assessment_id))
        return AssessmentProgress.from_domain(*found) if found else None

    @strawberry.field
    async def result(self, info: Info, assessment_id: strawberry.ID) -> AssessmentResult | None:
        found = await result_resolvers.result(info.context, str(assessment_id))
        if found is None:
            return None
        assessment, stored = found
        return AssessmentResult.from_stored(assessment.id, assessment.user_id, stored)

    @strawberry.field
    async def scores(self, info: Info, assessment_id: strawberry.ID) -> Scores | None:
        found = await result_resolvers.result(info.context, str(assessment_id))
        return scores_of(found[1]) if found else None

    @strawberry.field(description="FR7")
    async def profile(self, info: Info, assessment_id: strawberry.ID) -> SkillProfile | None:
        found = await result_resolvers.result(info.context, str(assessment_id))
        return profile_of(found[0].id, found[1]) if found else None

    @strawberry.field(description="FR8")
    async def recommendations(
        self, info: Info, assessment_id: strawberry.ID
    ) -> RecommendationBundle | None:
        found = await result_resolvers.result(info.context, str(assessment_id))
        if found is None:
            return None
        assessment, stored = found
        return RecommendationBundle.from_stored(assessment.id, assessment.user_id, stored)

    @strawberry.field(description="ADMIN and ADVISOR.")
    async def questions(
        self,
        info: Info,
        type: QuestionType | None = None,
        domain: str | None = None,
        active: bool | None = None,
        first: int | None = 50,
        after: str | None = None,
    ) -> QuestionConnection:
        page = await question_bank.questions(
            info.context,
            type=type,
            domain=domain,
            active=active,
            first=_first(first, 50),
            after=after,
        )
        return connection(QuestionConnection, QuestionEdge, page, Question.from_row)

    @strawberry.field
    async def assessment_form(
        self, info: Info, name: str | None = "default"
    ) -> AssessmentForm | None:
        row = await question_bank.form(info.context, name or "default")
        return AssessmentForm.from_row(row) if row else None

    @strawberry.field(description="Any signed-in user; inactive ones for ADMIN only.")
    async def credentials(
        self,
        info: Info,
        active: bool | None = None,
        tag: str | None = None,
        domain: str | None = None,
        first: int | None = 50,
        after: str | None = None,
    ) -> CredentialConnection:
        page = await catalog_resolvers.credentials(
            info.context,
            active=active,
            tag=tag,
            domain=domain,
            first=_first(first, 50),
            after=after,
        )
        return connection(CredentialConnection, CredentialEdge, page, Credential.from_row)

    @strawberry.field(description="ADMIN")
    async def webhook_endpoints(self, info: Info) -> list[WebhookEndpoint]:
        return [
            WebhookEndpoint.from_row(r) for r in await webhook_resolvers.endpoints(info.context)
        ]

    @strawberry.field(
        description="ADVISOR: their assigned students; ADMIN: everyone. search matches email or "
        "name. weakIn: only students whose latest result lists that domain among its "
        "improvements; band: only those whose latest band is this. Both read the latest "
        "profile that is not provisional (bandProvisional false)."
    )
    async def students(
        self,
        info: Info,
        first: int | None = 20,
        after: str | None = None,
        search: str | None = None,
        weak_in: str | None = None,
        band: Band | None = None,
    ) -> UserConnection:
        page = await people.students(
            info.context, first=_first(first, 20), after=after, search=search,
            weak_in=weak_in, band=band,
        )  # fmt: skip
        return connection(UserConnection, UserEdge, page, User.from_row)

    @strawberry.field(
        description="ADVISOR (their assigned students) and ADMIN: essays of DONE assessments "
        "that need a human (flagged, or the LLM and the local scorer disagree), not overridden "
        "yet, oldest first."
    )
    async def review_queue(
        self, info: Info, first: int | None = 20, after: str | None = None
    ) -> ReviewItemConnection:
        page = await review_resolvers.review_queue(info.context, first=_first(first, 20),
                                                   after=after)  # fmt: skip
        return connection(ReviewItemConnection, ReviewItemEdge, page, ReviewItem.from_entry)

    @strawberry.field(description="ADVISOR (assigned students) and ADMIN.")
    async def user(self, info: Info, id: strawberry.ID) -> User | None:
        row = await people.user(info.context, str(id))
        return User.from_row(row) if row else None

    @strawberry.field(
        description='ADMIN. Newest first. action matches exactly, or as a prefix ending in "*" '
        '("account.*"); actor is a public user id, "anonymous", "system" or "erased-user".'
    )
    async def audit_events(
        self,
        info: Info,
        actor: str | None = None,
        action: str | None = None,
        first: int | None = 50,
        after: str | None = None,
    ) -> AuditEventConnection:
        page = await people.audit_events(
            info.context, actor=actor, action=action, first=_first(first, 50), after=after
        )
        return connection(AuditEventConnection, AuditEventEdge, page, AuditEvent.from_row)

    @strawberry.field(description="ADMIN")
    async def rag_index_stats(self, info: Info) -> RagIndexStats:
        return RagIndexStats.from_stats(await rag_resolvers.stats(info.context))

    @strawberry.field(description="ADMIN")
    async def analytics(self, info: Info, days: int = 30) -> Analytics:
        return Analytics.from_figures(await analytics_resolvers.analytics(info.context, days))

    @strawberry.field(
        description="ADMIN. How each scored bank question performs: responses, facility, "
        "discrimination, option pick rates and flags, kept up to date as assessments are "
        "scored. questionId: that question only; filter narrows the bank (creation order)."
    )
    async def question_stats(
        self,
        info: Info,
        question_id: strawberry.ID | None = None,
        filter: QuestionStatsFilter | None = None,
        first: int | None = 50,
        after: str | None = None,
    ) -> QuestionStatsConnection:
        where = filter or QuestionStatsFilter()
        page = await item_stats_resolvers.question_stats(
            info.context, question_id=str(question_id) if question_id is not None else None,
            type=where.type, domain=where.domain, flag=where.flag,
            first=_first(first, 50), after=after,
        )  # fmt: skip
        return connection(
            QuestionStatsConnection, QuestionStatsEdge, page, QuestionStats.from_entry
        )

    @strawberry.field(description="Public. Every track with its blueprint, by name.")
    async def tracks(self, info: Info) -> list[Track]:
        return [Track.from_row(row) for row in await track_resolvers.tracks(info.context)]

    @strawberry.field(description="Public.")
    async def health(self, info: Info) -> Health:
        states = await ops_resolvers.health(info.context)
        return Health(**states)
