"""The pure parts of saved plans: the planner deletes only approved digests, and keeps what an
unapproved one protects; unread indexes make deletions unverified; a plan file is read back only
for its own account, regions and format."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from ecr_sweeper.core.model import Action, Image, Verdict
from ecr_sweeper.core.outcome import RepositoryOutcome, RepositoryResult
from ecr_sweeper.core.planner import NOT_APPROVED, plan
from ecr_sweeper.core.policy import Retention
from ecr_sweeper.core.saved_plan import PlanRefused, document, load

NOW = datetime(2026, 11, 27, 3, 0, tzinfo=timezone.utc)
OLD = NOW - timedelta(days=30)
INDEX = "application/vnd.oci.image.index.v1+json"


def digest(n: int) -> str:
    return f"sha256:{n:064x}"


def image(n: int, **fields: object) -> Image:
    return Image(digest=digest(n), tags=(), pushed_at=OLD, size_bytes=n, **fields)  # type: ignore[arg-type]


def by_digest(images: list[Image], **options: object) -> dict[str, Verdict]:
    result = plan(images, Retention(7), NOW, **options)  # type: ignore[arg-type]
    return {verdict.image.digest: verdict for verdict in result.verdicts}


def test_only_approved_digests_are_deleted() -> None:
    # Given two expired images, of which a saved plan approved only the first
    # When the plan runs
    verdicts = by_digest([image(1), image(2)], approved={digest(1)})

    # Then the approved image would be deleted
    assert verdicts[digest(1)].action is Action.WOULD_DELETE
    # And the other is kept as not approved
    assert (verdicts[digest(2)].action, verdicts[digest(2)].reason) == (Action.KEPT, NOT_APPROVED)


def test_an_unapproved_index_protects_its_approved_child() -> None:
    # Given an expired image that was approved, and an expired index that lists it and was not approved
    # When the plan runs
    verdicts = by_digest(
        [image(1), image(2, media_type=INDEX)], approved={digest(1)}, children={digest(2): (digest(1),)}
    )

    # Then the image is kept as the child of the index
    assert verdicts[digest(1)].action is Action.KEPT
    assert verdicts[digest(1)].reason == f"child of kept index {digest(2)}"


def test_an_unapproved_subject_keeps_its_approved_referrer() -> None:
    # Given an expired image that was not approved, and an expired referrer of it that was
    # When the plan runs
    verdicts = by_digest([image(1), image(2, subject_digest=digest(1))], approved={digest(2)})

    # Then the referrer is kept for its subject
    assert verdicts[digest(2)].action is Action.KEPT
    assert verdicts[digest(2)].reason == f"referrer of kept image {digest(1)}"


def test_an_approved_digest_that_a_rule_keeps_is_kept() -> None:
    # Given an image pushed one day ago, approved by a saved plan
    fresh = Image(digest=digest(1), tags=(), pushed_at=NOW - timedelta(days=1), size_bytes=1)

    # When the plan runs with a retention of 7 days, then it is kept
    assert by_digest([fresh], approved={digest(1)})[digest(1)].action is Action.KEPT


def test_an_index_not_read_makes_every_other_deletion_unverified() -> None:
    # Given an expired image and an expired index whose manifest could not be read
    # When the plan runs
    result = plan([image(1), image(2, media_type=INDEX)], Retention(7), NOW, not_read=(digest(2),))

    # Then the index is listed as not read
    verdicts = {verdict.image.digest: verdict for verdict in result.verdicts}
    assert result.not_read == (digest(2),)
    # And the image's deletion carries an unverified caveat, and the index's own does not
    assert verdicts[digest(1)].caveat is not None and verdicts[digest(1)].caveat.startswith("unverified:")
    assert verdicts[digest(2)].caveat is None, "the index itself may go"


def saved(**changes: object) -> str:
    result = RepositoryResult(RepositoryOutcome("app"))
    result.verdict(Verdict(image(1), Action.WOULD_DELETE, "expired"))
    result.verdict(Verdict(image(2), Action.KEPT, "not expired"))
    doc = document(
        [("us-east-1", result)],
        account="123456789012",
        regions=["us-east-1"],
        created_at=NOW,
        as_of=None,
        settings={},
        tool="ecr-sweeper test",
    )
    return json.dumps(doc | changes)


def test_a_plan_read_back_approves_exactly_its_deletions() -> None:
    # Given a saved plan of one repository with one deletion and one keep
    # When it is read back for its own account and region
    plan_ = load(saved(), account="123456789012", regions=["us-east-1"], source="p.json")

    # Then it approves the one deletion, with the image's push time
    assert plan_.digests == 1
    assert set(plan_.approved["us-east-1"]["app"]) == {digest(1)}
    assert plan_.approved["us-east-1"]["app"][digest(1)].pushed_at == OLD


@pytest.mark.parametrize(
    ("text", "account", "regions", "refusal"),
    [
        (saved(), "999999999999", ["us-east-1"], "planned in account 123456789012"),
        (saved(), "123456789012", ["us-east-1", "eu-west-1"], "planned for region(s) us-east-1"),
        (saved(version=0), "123456789012", ["us-east-1"], "format version 0"),
        (saved(asOf=NOW.isoformat()), "123456789012", ["us-east-1"], "is a forecast"),
        (saved(repositories=[{"region": "us-east-1"}]), "123456789012", ["us-east-1"], "is damaged"),
        ("[]", "123456789012", ["us-east-1"], "is not a saved plan"),
        ("{", "123456789012", ["us-east-1"], "not JSON"),
    ],
)
def test_a_plan_is_refused_for_another_account_region_version_or_damage(
    text: str, account: str, regions: list[str], refusal: str
) -> None:
    # Given a saved plan for another account or region, of another format version, a forecast, damaged, or no plan at
    # all
    # When it is read back, then it is refused, and the refusal says why
    with pytest.raises(PlanRefused, match=refusal.replace("(", r"\(").replace(")", r"\)")):
        load(text, account=account, regions=regions, source="p.json")
