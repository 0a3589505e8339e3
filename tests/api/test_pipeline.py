"""The asynchronous pipeline through the API: submit, progress, result."""

from __future__ import annotations

from tests.support.client import GraphQLClient, register_and_login
from tests.support.db import scalar, uuid_param
from tests.support.pipeline import RESULT, STATUS, completed, submitted, wait_for_status
from tests.support.stacks import Server


async def test_submit_to_done_with_a_full_result(client: GraphQLClient, server: Server) -> None:
    student = await register_and_login(client)
    assessment = await submitted(client, student.token)
    progress = await wait_for_status(client, student.token, assessment["id"], {"DONE"})
    assert progress["progress"] == 100
    assert progress["retryAfterSeconds"] is None
    assert [s["stage"] for s in progress["stages"]] == ["RULE_SCORE", "GPT_ESSAYS", "RAG", "FUSION"]
    assert all(s["state"] == "DONE" and s["attempts"] == 1 for s in progress["stages"])

    result = (await client.data(RESULT, {"id": assessment["id"]}, student.token))["result"]
    assert result["assessmentId"] == assessment["id"]
    theory = result["scores"]["theoretical"]
    assert theory["total"] == 3
    assert len(theory["perItem"]) == 3
    essays = result["scores"]["essays"]
    assert len(essays) == 3
    assert all(0 <= e["score"] <= 1 and e["scoredBy"] == "LOCAL" for e in essays)
    assert all({c["name"] for c in e["rubric"]} == {"clarity", "accuracy", "coherence"}
               for e in essays)  # fmt: skip
    profile = result["profile"]
    assert 0 <= profile["overallScore"] <= 1
    assert profile["band"] in ("BEGINNER", "INTERMEDIATE", "ADVANCED")
    low, high = profile["confidence"]["interval"]
    assert low <= profile["overallScore"] <= high
    assert profile["confidence"]["reasons"]
    assert profile["interests"]
    items = result["recommendations"]["items"]
    assert 2 <= len(items) <= 3
    assert [i["rank"] for i in items] == list(range(1, len(items) + 1))
    assert all(i["credential"]["active"] and i["reasonShort"] and i["ragTrace"] for i in items)
    assert result["recommendations"]["summary"]

    rows = await scalar(
        server,
        "SELECT count(*) FROM recommendations WHERE assessment_id = :a",
        a=uuid_param(server, assessment["id"]),
    )
    assert rows == 1


async def test_results_are_null_until_done(client: GraphQLClient) -> None:
    student = await register_and_login(client)
    assessment = await completed(client, student.token)
    other = await register_and_login(client)
    assert (await client.data(RESULT, {"id": assessment["id"]}, other.token)) == {"result": None}
    assert (await client.data(STATUS, {"id": assessment["id"]}, other.token)) == {
        "assessmentStatus": None
    }


async def test_interests_stated_at_registration_show_in_the_result(
    client: GraphQLClient, server: Server
) -> None:
    stated = await register_and_login(client, interests=["Quantum", "data"])
    silent = await register_and_login(client)
    profiles = {}
    for account in (stated, silent):
        assessment = await completed(client, account.token)
        result = (await client.data(RESULT, {"id": assessment["id"]}, account.token))["result"]
        profiles[account.id] = {i["area"]: i for i in result["profile"]["interests"]}
    # An area only stated counts as a top answer; one also rated is the mean of the two.
    assert profiles[stated.id]["quantum"] == {"area": "quantum", "level": "HIGH", "value": 5}
    assert "quantum" not in profiles[silent.id]
    rated = profiles[silent.id].get("data")  # when the form asks about data
    assert profiles[stated.id]["data"]["value"] >= (rated["value"] if rated else 5)
