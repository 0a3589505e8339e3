"""The root Mutation. Every payload carries `errors: [UserError!]!`."""

from __future__ import annotations

import strawberry

from domain.roles import Role
from resolvers import admin as admin_resolvers
from resolvers import assessments as assessment_resolvers
from resolvers import auth as auth_resolvers
from resolvers import catalog as catalog_resolvers
from resolvers import people, privacy, question_bank
from resolvers import rag_index as rag_resolvers
from resolvers import results as result_resolvers
from resolvers import review as review_resolvers
from resolvers import tracks as track_resolvers
from resolvers import webhooks as webhook_resolvers
from resolvers.context import Context
from schema.errors import UserError, note_user_error, payload_or_errors
from schema.types.assessments import (
    AnswerInput,
    AnswerPayload,
    Assessment,
    AssessmentQuestion,
    Job,
    SaveResponsesInput,
    SaveResponsesPayload,
    StartAssessmentInput,
    StartAssessmentPayload,
    SubmitAssessmentInput,
    SubmitAssessmentPayload,
)
from schema.types.catalog import Credential, CredentialInput, CredentialPayload
from schema.types.common import OkPayload
from schema.types.privacy import DataExportPayload
from schema.types.questions import (
    AssessmentForm,
    AssessmentFormInput,
    AssessmentFormPayload,
    Question,
    QuestionInput,
    QuestionPayload,
)
from schema.types.rag import RebuildIndexPayload
from schema.types.results import (
    EssayScoreOverride,
    Recommendation,
    RecommendationFeedbackInput,
    RecommendationFeedbackPayload,
)
from schema.types.review import OverrideEssayScoreInput, OverrideEssayScorePayload
from schema.types.tracks import Track, TrackInput, TrackPayload
from schema.types.users import (
    AuthPayload,
    LoginInput,
    RegisterInput,
    RegisterPayload,
    UpdateMeInput,
    UpdateMePayload,
    User,
)
from schema.types.webhooks import WebhookEndpoint, WebhookEndpointInput, WebhookEndpointPayload

Info = strawberry.Info[Context, None]


def _auth_payload(session: auth_resolvers.Session) -> AuthPayload:
    return AuthPayload(
        access_token=session.access_token,
        refresh_token=session.refresh_token,
        expires_in=session.expires_in,
        user=User.from_row(session.user),
    )


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def register(self, info: strawberry.Info, input: RegisterInput) -> RegisterPayload:
        async def run() -> RegisterPayload:
            row = await auth_resolvers.register(
                info.context,
                email=input.email,
                password=input.password,
                name=input.name,
                invite_code=input.invite_code,
                interests=input.interests,
            )
            return RegisterPayload(user=User.from_row(row))

        return await payload_or_errors(info, RegisterPayload, run())

    @strawberry.mutation
    async def login(self, info: strawberry.Info, input: LoginInput) -> AuthPayload:
        async def run() -> AuthPayload:
            session = await auth_resolvers.login(
                info.context, email=input.email, password=input.password
            )
            return _auth_payload(session)

        return await payload_or_errors(info, AuthPayload, run())

    @strawberry.mutation(
        description="Rotates: the old refresh token stops working; reusing it revokes the "
        "whole token family."
    )
    async def refresh_token(self, info: strawberry.Info, refresh_token: str) -> AuthPayload:
        async def run() -> AuthPayload:
            session = await auth_resolvers.refresh(info.context, refresh_token=refresh_token)
            return _auth_payload(session)

        return await payload_or_errors(info, AuthPayload, run())

    @strawberry.mutation
    async def logout(self, info: strawberry.Info, refresh_token: str) -> OkPayload:
        async def run() -> OkPayload:
            await auth_resolvers.logout(info.context, refresh_token=refresh_token)
            return OkPayload(ok=True)

        return await payload_or_errors(info, OkPayload, run())

    @strawberry.mutation
    async def update_me(self, info: strawberry.Info, input: UpdateMeInput) -> UpdateMePayload:
        async def run() -> UpdateMePayload:
            changes: dict[str, object] = {}
            if input.name is not strawberry.UNSET:
                changes["name"] = input.name
            if input.interests is not strawberry.UNSET:
                changes["interests"] = input.interests
            row = await auth_resolvers.update_me(info.context, **changes)
            return UpdateMePayload(user=User.from_row(row))

        return await payload_or_errors(info, UpdateMePayload, run())

    # ---------------------------------------------------------------- question bank and forms

    @strawberry.mutation(description="ADMIN")
    async def create_question(self, info: Info, input: QuestionInput) -> QuestionPayload:
        async def run() -> QuestionPayload:
            row = await question_bank.create_question(info.context, input.to_draft())
            return QuestionPayload(question=Question.from_row(row))

        return await payload_or_errors(info, QuestionPayload, run())

    @strawberry.mutation
    async def update_question(
        self, info: Info, id: strawberry.ID, input: QuestionInput
    ) -> QuestionPayload:
        async def run() -> QuestionPayload:
            row = await question_bank.update_question(info.context, str(id), input.to_draft())
            return QuestionPayload(question=Question.from_row(row))

        return await payload_or_errors(info, QuestionPayload, run())

    @strawberry.mutation
    async def set_question_active(
        self, info: Info, id: strawberry.ID, active: bool
    ) -> QuestionPayload:
        async def run() -> QuestionPayload:
            row = await question_bank.set_question_active(info.context, str(id), active)
            return QuestionPayload(question=Question.from_row(row))

        return await payload_or_errors(info, QuestionPayload, run())

    @strawberry.mutation
    async def set_assessment_form(
        self, info: Info, input: AssessmentFormInput
    ) -> AssessmentFormPayload:
        async def run() -> AssessmentFormPayload:
            hours = None if input.expires_in_hours is strawberry.UNSET else input.expires_in_hours
            cooldown = (
                question_bank.KEEP
                if input.retake_cooldown_hours is strawberry.UNSET
                else input.retake_cooldown_hours
            )
            row = await question_bank.set_form(
                info.context,
                input.name or "default",
                input.composition.to_domain(),
                hours,
                cooldown,
            )
            return AssessmentFormPayload(form=AssessmentForm.from_row(row))

        return await payload_or_errors(info, AssessmentFormPayload, run())

    # ---------------------------------------------------------------- catalog

    @strawberry.mutation(description="ADMIN")
    async def upsert_credential(self, info: Info, input: CredentialInput) -> CredentialPayload:
        async def run() -> CredentialPayload:
            row = await catalog_resolvers.upsert_credential(info.context, input.to_draft())
            return CredentialPayload(credential=Credential.from_row(row))

        return await payload_or_errors(info, CredentialPayload, run())

    @strawberry.mutation(description="ADMIN")
    async def upsert_track(self, info: Info, input: TrackInput) -> TrackPayload:
        async def run() -> TrackPayload:
            row = await track_resolvers.upsert_track(info.context, input.to_draft())
            return TrackPayload(track=Track.from_row(row))

        return await payload_or_errors(info, TrackPayload, run())

    @strawberry.mutation(description="ADMIN")
    async def set_credential_active(
        self, info: Info, id: strawberry.ID, active: bool
    ) -> CredentialPayload:
        async def run() -> CredentialPayload:
            row = await catalog_resolvers.set_credential_active(info.context, str(id), active)
            return CredentialPayload(credential=Credential.from_row(row))

        return await payload_or_errors(info, CredentialPayload, run())

    # ---------------------------------------------------------------- assessment lifecycle

    @strawberry.mutation
    async def start_assessment(
        self, info: Info, input: StartAssessmentInput
    ) -> StartAssessmentPayload:
        async def run() -> StartAssessmentPayload:
            composition = (
                None
                if input.composition is strawberry.UNSET or input.composition is None
                else input.composition.to_domain()
            )
            started = await assessment_resolvers.start(
                info.context,
                track=input.track or "general",
                composition=composition,
                form_name=input.form or "default",
            )
            return StartAssessmentPayload(
                assessment=Assessment.from_row(started.assessment), reused=started.reused
            )

        return await payload_or_errors(info, StartAssessmentPayload, run())

    @strawberry.mutation(
        description="FR4: one answer; THEORETICAL is scored by rule at once, ESSAY is enqueued "
        "for async scoring."
    )
    async def answer_question(self, info: Info, input: AnswerInput) -> AnswerPayload:
        async def run() -> AnswerPayload:
            assessment, following = await assessment_resolvers.answer(
                info.context,
                assessment_id=str(input.assessment_id),
                question_id=str(input.question_id),
                raw_answer=input.answer,
            )
            return AnswerPayload(
                assessment=Assessment.from_row(assessment),
                next_question=AssessmentQuestion.from_row(following) if following else None,
            )

        return await payload_or_errors(info, AnswerPayload, run())

    @strawberry.mutation(description="4.2: several answers at once, partial allowed.")
    async def save_responses(self, info: Info, input: SaveResponsesInput) -> SaveResponsesPayload:
        async def run() -> SaveResponsesPayload:
            saved = await assessment_resolvers.save_responses(
                info.context,
                assessment_id=str(input.assessment_id),
                responses=[(str(r.question_id), r.answer) for r in input.responses],
                is_final=bool(input.is_final_chunk),
            )
            errors = []
            if saved.problems is not None:
                note_user_error(info, saved.problems)
                errors = [UserError.from_problem(p) for p in saved.problems.problems]
            return SaveResponsesPayload(
                saved=saved.saved,
                assessment=Assessment.from_row(saved.assessment),
                job=Job.from_row(saved.job) if saved.job else None,
                errors=errors,
            )

        return await payload_or_errors(info, SaveResponsesPayload, run())

    @strawberry.mutation(description="FR5: idempotent; a second call returns the same job.")
    async def submit_assessment(
        self, info: Info, input: SubmitAssessmentInput
    ) -> SubmitAssessmentPayload:
        async def run() -> SubmitAssessmentPayload:
            assessment, job = await assessment_resolvers.submit(
                info.context,
                assessment_id=str(input.assessment_id),
                allow_incomplete=bool(input.allow_incomplete),
            )
            return SubmitAssessmentPayload(
                assessment=Assessment.from_row(assessment),
                job=Job.from_row(job) if job else None,
            )

        return await payload_or_errors(info, SubmitAssessmentPayload, run())

    @strawberry.mutation
    async def record_recommendation_feedback(
        self, info: Info, input: RecommendationFeedbackInput
    ) -> RecommendationFeedbackPayload:
        async def run() -> RecommendationFeedbackPayload:
            item, assessment = await result_resolvers.record_feedback(
                info.context,
                recommendation_id=str(input.recommendation_id),
                accepted=input.accepted,
                comment=None if input.comment is strawberry.UNSET else input.comment,
            )
            stored = await info.context.loaders.result.load(assessment.id)
            traces = stored.traces.get(item.id, []) if stored else []
            return RecommendationFeedbackPayload(
                recommendation=Recommendation.from_row(item, traces, assessment.user_id)
            )

        return await payload_or_errors(info, RecommendationFeedbackPayload, run())

    # ---------------------------------------------------------------- administration

    @strawberry.mutation(description="ADMIN")
    async def create_webhook_endpoint(
        self, info: Info, input: WebhookEndpointInput
    ) -> WebhookEndpointPayload:
        async def run() -> WebhookEndpointPayload:
            endpoint, secret = await webhook_resolvers.create(
                info.context,
                url=input.url,
                events=list(input.events),
                secret=None if input.secret is strawberry.UNSET else input.secret,
            )
            return WebhookEndpointPayload(
                endpoint=WebhookEndpoint.from_row(endpoint), secret=secret
            )

        return await payload_or_errors(info, WebhookEndpointPayload, run())

    @strawberry.mutation
    async def delete_webhook_endpoint(self, info: Info, id: strawberry.ID) -> OkPayload:
        async def run() -> OkPayload:
            await webhook_resolvers.delete(info.context, str(id))
            return OkPayload(ok=True)

        return await payload_or_errors(info, OkPayload, run())

    @strawberry.mutation(
        description="ADMIN: scores a DONE assessment's essays again with the current scorer "
        "(earlier scores stay in the history with their prompt version); the result shows the "
        "new scores and the profile built from them. Returns the job."
    )
    async def rescore_essays(
        self, info: Info, assessment_id: strawberry.ID
    ) -> SubmitAssessmentPayload:
        async def run() -> SubmitAssessmentPayload:
            assessment, job = await admin_resolvers.rescore_essays(info.context, str(assessment_id))
            return SubmitAssessmentPayload(
                assessment=Assessment.from_row(assessment), job=Job.from_row(job)
            )

        return await payload_or_errors(info, SubmitAssessmentPayload, run())

    @strawberry.mutation(
        description="ADVISOR (assigned students) and ADMIN: a human score replaces a machine "
        "essay score (which stays in the history). The profile and recommendations are rebuilt "
        "by the returned job; subscribers and the assessment.rescored webhook are notified."
    )
    async def override_essay_score(
        self, info: Info, input: OverrideEssayScoreInput
    ) -> OverrideEssayScorePayload:
        async def run() -> OverrideEssayScorePayload:
            rubric = (
                None
                if input.rubric is None or input.rubric is strawberry.UNSET
                else [review_resolvers.CriterionInput(c.name, c.score) for c in input.rubric]
            )
            override, assessment, job = await review_resolvers.override_essay_score(
                info.context, essay_score_id=str(input.essay_score_id), score=input.score,
                reason=input.reason, rubric=rubric,
            )  # fmt: skip
            return OverrideEssayScorePayload(
                override=EssayScoreOverride.from_row(override),
                assessment=Assessment.from_row(assessment),
                job=Job.from_row(job),
            )

        return await payload_or_errors(info, OverrideEssayScorePayload, run())

    @strawberry.mutation(
        description="ADMIN: re-embed the active catalog and drop inactive credentials from the "
        "vector index, as a background job (progress: ragIndexStats, or the ragIndexProgress "
        "subscription)."
    )
    async def rebuild_rag_index(self, info: Info) -> RebuildIndexPayload:
        async def run() -> RebuildIndexPayload:
            status, job = await rag_resolvers.rebuild(info.context)
            return RebuildIndexPayload(
                status=status, started_at=job.created_at, job=Job.from_row(job)
            )

        return await payload_or_errors(info, RebuildIndexPayload, run())

    @strawberry.mutation(
        description="GDPR (NFR6): everything stored about the caller as one JSON document."
    )
    async def export_my_data(self, info: Info) -> DataExportPayload:
        async def run() -> DataExportPayload:
            return DataExportPayload.of(await privacy.export_my_data(info.context))

        return await payload_or_errors(info, DataExportPayload, run())

    @strawberry.mutation(
        description="GDPR (NFR6): erases the caller (password required): their rows are "
        "deleted and audit events keep only an anonymous actor."
    )
    async def delete_my_account(self, info: Info, password: str) -> OkPayload:
        async def run() -> OkPayload:
            await privacy.delete_my_account(info.context, password)
            return OkPayload(ok=True)

        return await payload_or_errors(info, OkPayload, run())

    @strawberry.mutation(description="ADMIN: a student's advisor (replaces an earlier one).")
    async def assign_advisor(
        self, info: Info, student_id: strawberry.ID, advisor_id: strawberry.ID
    ) -> OkPayload:
        async def run() -> OkPayload:
            await people.assign_advisor(info.context, str(student_id), str(advisor_id))
            return OkPayload(ok=True)

        return await payload_or_errors(info, OkPayload, run())

    @strawberry.mutation(description="ADMIN")
    async def set_user_role(self, info: Info, user_id: strawberry.ID, role: Role) -> OkPayload:
        async def run() -> OkPayload:
            await people.set_user_role(info.context, str(user_id), role)
            return OkPayload(ok=True)

        return await payload_or_errors(info, OkPayload, run())

    @strawberry.mutation(description="ADMIN: erases a person, as deleteMyAccount does.")
    async def delete_user(self, info: Info, user_id: strawberry.ID) -> OkPayload:
        async def run() -> OkPayload:
            await privacy.delete_user(info.context, str(user_id))
            return OkPayload(ok=True)

        return await payload_or_errors(info, OkPayload, run())

    @strawberry.mutation(description="Re-runs the pipeline of a FAILED assessment.")
    async def retry_assessment(
        self, info: Info, assessment_id: strawberry.ID
    ) -> SubmitAssessmentPayload:
        async def run() -> SubmitAssessmentPayload:
            assessment, job = await admin_resolvers.retry_assessment(
                info.context, str(assessment_id)
            )
            return SubmitAssessmentPayload(
                assessment=Assessment.from_row(assessment), job=Job.from_row(job)
            )

        return await payload_or_errors(info, SubmitAssessmentPayload, run())
