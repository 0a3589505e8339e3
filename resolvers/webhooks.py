"""Webhook endpoints (ADMIN)."""

from __future__ import annotations

from db.repositories import audit
from db.repositories import webhooks as webhooks_repo
from db.tables import WebhookEndpoint
from domain import ids
from domain.errors import Problems, not_found
from domain.roles import Role
from domain.webhooks import (
    WebhookEvent,
    check_secret,
    check_url,
    host_of,
    new_secret,
)
from jobs.checked_http import RefusedAddress, UnresolvableHost
from jobs.webhooks import check_destination
from resolvers.context import Context


async def create(
    ctx: Context, *, url: str, events: list[WebhookEvent], secret: str | None
) -> tuple[WebhookEndpoint, str]:
    caller = await ctx.require_caller(Role.ADMIN)
    problems = Problems()
    url = url.strip()
    check_url(url, problems, "input", "url")
    if not events:
        problems.invalid("Choose at least one event.", "input", "events")
    if secret is not None:
        check_secret(secret, problems, "input", "secret")
    problems.raise_if_any()
    if not ctx.services.settings.allow_private_webhooks:
        await _refuse_private(url, problems)
        problems.raise_if_any()
    chosen = secret or new_secret()
    async with ctx.transaction() as uow:
        endpoint = await webhooks_repo.add(
            uow.session, url, sorted({e.value for e in events}), chosen
        )
        await audit.record(
            uow.session,
            actor=caller.public_id,
            action="webhook.create",
            resource=ids.encode(ids.Kind.WEBHOOK, endpoint.id),
            request_id=ctx.request_id,
            meta={"url": url, "events": endpoint.events_json},
        )
    return endpoint, chosen


async def _refuse_private(url: str, problems: Problems) -> None:
    try:
        await check_destination(url, allow_private=False)
    except UnresolvableHost:
        problems.invalid(f"The host {host_of(url)} cannot be resolved.", "input", "url")
    except RefusedAddress:
        problems.invalid(
            "Webhooks may not point at private, loopback or link-local addresses.",
            "input",
            "url",
        )


async def delete(ctx: Context, public_id: str) -> None:
    caller = await ctx.require_caller(Role.ADMIN)
    key = ids.decode(ids.Kind.WEBHOOK, public_id)
    if key is None:
        raise not_found("Webhook endpoint", "id")
    async with ctx.transaction() as uow:
        if not await webhooks_repo.delete(uow.session, key):
            raise not_found("Webhook endpoint", "id")
        await audit.record(
            uow.session,
            actor=caller.public_id,
            action="webhook.delete",
            resource=public_id,
            request_id=ctx.request_id,
        )


async def endpoints(ctx: Context) -> list[WebhookEndpoint]:
    await ctx.require_caller(Role.ADMIN)
    async with ctx.read() as session:
        return await webhooks_repo.all_endpoints(session)
