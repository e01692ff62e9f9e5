"""The expiry rule at its boundaries: pushed AND last pulled at least N days before `now`."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from ecr_sweeper.core.model import Action, Image, Protection, Use
from ecr_sweeper.core.planner import Plan, plan
from ecr_sweeper.core.policy import Retention
from ecr_sweeper.core.rules import judge

NOW = datetime(2026, 11, 27, 3, 0, tzinfo=timezone.utc)
SECOND = timedelta(seconds=1)


def image(pushed: timedelta | None, pulled: timedelta | None = None, tags: tuple[str, ...] = ()) -> Image:
    return Image(
        digest="sha256:" + "a" * 64,
        tags=tags,
        pushed_at=None if pushed is None else NOW - pushed,
        size_bytes=10,
        last_pulled_at=None if pulled is None else NOW - pulled,
    )


def test_expired_exactly_at_the_retention_boundary() -> None:
    # Given an untagged image pushed exactly 7 days ago, never pulled, and a retention of 7 days
    # When it is judged
    verdict = judge(image(timedelta(days=7)), Retention(7), NOW)

    # Then it would be deleted, and the reason gives its age and the retention
    assert verdict.action is Action.WOULD_DELETE
    assert verdict.reason == "expired: pushed 7d ago, no pull recorded, retention 7d"


def test_kept_one_second_before_the_boundary() -> None:
    # Given an untagged image pushed one second less than 7 days ago, and a retention of 7 days
    # When it is judged
    verdict = judge(image(timedelta(days=7) - SECOND), Retention(7), NOW)

    # Then it is kept as not expired
    assert verdict.action is Action.KEPT
    assert verdict.reason == "not expired: pushed 6d ago, retention 7d"


def test_a_pull_one_second_inside_the_window_keeps_it() -> None:
    # Given an image pushed 30 days ago and last pulled one second less than 7 days ago, and a retention of 7 days
    # When it is judged
    verdict = judge(image(timedelta(days=30), pulled=timedelta(days=7) - SECOND), Retention(7), NOW)

    # Then it is kept as pulled recently
    assert verdict.action is Action.KEPT
    assert verdict.reason.startswith("pulled recently: last pulled 6d ago")


def test_a_pull_exactly_at_the_boundary_does_not_keep_it() -> None:
    # Given an image pushed 30 days ago and last pulled exactly 7 days ago, and a retention of 7 days
    # When it is judged
    verdict = judge(image(timedelta(days=30), pulled=timedelta(days=7)), Retention(7), NOW)

    # Then it would be deleted, and the reason gives both ages
    assert verdict.action is Action.WOULD_DELETE
    assert verdict.reason == "expired: pushed 30d ago, last pulled 7d ago, retention 7d"


def test_a_young_push_is_kept_even_when_the_pull_is_old() -> None:
    # Impossible in ECR, but the rule is "and": both must be old enough.
    # Given an image pushed 2 days ago and last pulled 20 days ago, and a retention of 7 days
    # When it is judged
    verdict = judge(image(timedelta(days=2), pulled=timedelta(days=20)), Retention(7), NOW)

    # Then it is kept
    assert verdict.action is Action.KEPT


def test_retention_zero_expires_everything_untagged() -> None:
    # Given an image pushed and pulled one second ago, and a retention of 0 days
    # When it is judged
    verdict = judge(image(timedelta(seconds=1), pulled=timedelta(seconds=1)), Retention(0), NOW)

    # Then it would be deleted, and the reason says retention 0d
    assert verdict.action is Action.WOULD_DELETE
    assert "retention 0d" in verdict.reason


def test_ages_under_a_day_are_said_in_hours() -> None:
    # Given an image pushed 5 hours 59 minutes ago, and a retention of 1 day
    # When it is judged
    verdict = judge(image(timedelta(hours=5, minutes=59)), Retention(1), NOW)

    # Then the reason gives its age in whole hours: 5h
    assert verdict.reason == "not expired: pushed 5h ago, retention 1d"


def test_a_push_after_the_evaluation_time_is_not_expired() -> None:
    # Given an image whose push time is 3 days after the evaluation time
    # When it is judged
    verdict = judge(image(-timedelta(days=3)), Retention(1), NOW)

    # Then it is kept as not expired, pushed 0h ago
    assert verdict.action is Action.KEPT
    assert verdict.reason == "not expired: pushed 0h ago, retention 1d"


def test_no_push_time_means_keep() -> None:
    # Given an image without a push time
    # When it is judged, then it is kept
    assert judge(image(None), Retention(1), NOW).action is Action.KEPT


def test_plan_never_judges_tagged_images() -> None:
    # Given a tagged image and an untagged image, both 999 days old
    tagged = image(timedelta(days=999), tags=("prod",))
    loose = image(timedelta(days=999))

    # When the plan runs with a retention of 0 days
    verdicts = plan([tagged, loose], Retention(0), NOW).verdicts

    # Then only the untagged image gets a verdict
    assert [v.image for v in verdicts] == [loose]


# --- the image graph --------------------------------------------------------------------------

INDEX_TYPE = "application/vnd.oci.image.index.v1+json"


def node(
    name: str,
    days: float,
    *,
    tags: tuple[str, ...] = (),
    subject: str | None = None,
    index: bool = False,
    status: str = "ACTIVE",
) -> Image:
    return Image(
        digest=f"sha256:{name}",
        tags=tags,
        pushed_at=NOW - timedelta(days=days),
        size_bytes=1,
        media_type=INDEX_TYPE if index else None,
        subject_digest=None if subject is None else f"sha256:{subject}",
        status=status,
    )


def by_digest(result: Plan) -> dict[str, tuple[Action, str]]:
    return {v.image.digest.removeprefix("sha256:"): (v.action, v.reason) for v in result.verdicts}


def waves(result: Plan) -> list[list[str]]:
    return [sorted(v.image.digest.removeprefix("sha256:") for v in wave) for wave in result.waves]


def test_children_of_a_tagged_index_are_kept_with_the_index_named() -> None:
    # Given a tagged index that lists two old untagged children
    images = [node("idx", 30, tags=("v1",), index=True), node("a", 30), node("b", 30)]

    # When the plan runs
    result = plan(images, Retention(1), NOW, children={"sha256:idx": ["sha256:a", "sha256:b"]})

    # Then a child is kept, and the reason names the index
    assert by_digest(result)["a"] == (Action.KEPT, "child of kept index sha256:idx")
    # And nothing is deleted
    assert result.waves == []


def test_an_expired_index_goes_in_an_earlier_wave_than_its_expired_children() -> None:
    # Given an expired untagged index that lists an expired child and a young child
    images = [node("idx", 30, index=True), node("a", 30), node("young", 0.1)]

    # When the plan runs
    result = plan(images, Retention(1), NOW, children={"sha256:idx": ["sha256:a", "sha256:young"]})

    # Then the index is deleted in the first wave and the expired child in the second
    assert waves(result) == [["idx"], ["a"]]
    # And the young child is kept
    assert by_digest(result)["young"][0] is Action.KEPT


def test_three_levels_of_indexes_make_three_waves() -> None:
    # Given three expired untagged levels: an index that lists an index that lists an image
    images = [node("outer", 9, index=True), node("inner", 9, index=True), node("leaf", 9)]
    children = {"sha256:outer": ["sha256:inner"], "sha256:inner": ["sha256:leaf"]}

    # When the plan runs, then each level is deleted in its own wave, the outermost first
    assert waves(plan(images, Retention(1), NOW, children=children)) == [["outer"], ["inner"], ["leaf"]]


def test_a_child_listed_by_a_kept_and_an_expired_index_is_kept() -> None:
    # Given a tagged index and an expired untagged index that both list one expired child
    images = [node("kept", 9, tags=("t",), index=True), node("old", 9, index=True), node("shared", 9)]
    children = {"sha256:kept": ["sha256:shared"], "sha256:old": ["sha256:shared"]}

    # When the plan runs
    result = plan(images, Retention(1), NOW, children=children)

    # Then the child is kept, and the reason names the tagged index
    assert by_digest(result)["shared"] == (Action.KEPT, "child of kept index sha256:kept")
    # And only the expired index is deleted
    assert waves(result) == [["old"]]


def test_referrers_follow_their_subject() -> None:
    # Given a tagged image with a signature, an expired image with a young signature, and an old and a young referrer
    # whose subject is missing
    images = [
        node("tagged", 9, tags=("v",)),
        node("sig-of-tagged", 9, subject="tagged"),
        node("old", 9),
        node("young-sig-of-old", 0.1, subject="old"),
        node("orphan-old", 9, subject="missing"),
        node("orphan-young", 0.1, subject="missing"),
    ]

    # When the plan runs with a retention of 1 day
    result = by_digest(plan(images, Retention(1), NOW))

    # Then the signature of the tagged image is kept
    assert result["sig-of-tagged"] == (Action.KEPT, "referrer of kept image sha256:tagged")
    # And the young signature of the expired image is deleted with its subject
    assert result["young-sig-of-old"] == (Action.WOULD_DELETE, "referrer of deleted image sha256:old")
    # And a referrer without its subject goes by its own age: the old one is deleted, the young one kept
    assert result["orphan-old"][0] is Action.WOULD_DELETE
    assert result["orphan-young"][0] is Action.KEPT


def test_a_referrer_is_deleted_in_a_wave_before_its_subject() -> None:
    # Given an expired image, its signature, and a signature of that signature
    images = [node("old", 9), node("sig", 9, subject="old"), node("sig-of-sig", 9, subject="sig")]

    # When the plan runs, then each is deleted in its own wave: the outermost referrer first, the image last
    assert waves(plan(images, Retention(1), NOW)) == [["sig-of-sig"], ["sig"], ["old"]]


def test_in_use_wins_over_every_other_reason_and_protects_the_graph() -> None:
    # Given an expired untagged index and its child
    images = [node("idx", 9, index=True), node("child", 9)]
    # And a function and a service that use the index
    function = Use(Protection.LAMBDA, "arn:aws:lambda:us-east-1:1:function:f")
    service = Use(Protection.ECS, "arn:aws:ecs:us-east-1:1:service/c/s")
    in_use = {"sha256:idx": (function, service)}

    # When the plan runs with a retention of 0 days
    result = plan(images, Retention(0), NOW, children={"sha256:idx": ["sha256:child"]}, in_use=in_use)

    # Then the index is kept as in use, and the reason names its first user
    assert by_digest(result)["idx"] == (Action.KEPT, "in use by lambda arn:aws:lambda:us-east-1:1:function:f")
    # And its child is kept as the child of a kept index
    assert by_digest(result)["child"] == (Action.KEPT, "child of kept index sha256:idx")
    # And the verdicts record the protection of each, and every user of the index
    assert result.verdicts[0].protection is Protection.LAMBDA
    assert result.verdicts[0].users == (function, service)
    assert result.verdicts[1].protection is Protection.INDEX


@pytest.mark.parametrize(
    ("family", "word", "who"),
    [
        (Protection.LAMBDA, "lambda", "arn:aws:lambda:us-east-1:1:function:f:$LATEST"),
        (Protection.ECS, "ecs", "arn:aws:ecs:us-east-1:1:service/c/s"),
        (Protection.BATCH, "batch", "arn:aws:batch:us-east-1:1:job-definition/j:3"),
        (Protection.APP_RUNNER, "apprunner", "arn:aws:apprunner:us-east-1:1:service/s/1"),
        (Protection.SAGEMAKER, "sagemaker", "arn:aws:sagemaker:us-east-1:1:model/m"),
    ],
)
def test_each_in_use_family_names_itself_in_the_reason(family: Protection, word: str, who: str) -> None:
    # Given an expired image that one user of the family uses
    # When the plan runs
    [verdict] = plan([node("x", 99)], Retention(1), NOW, in_use={"sha256:x": (Use(family, who),)}).verdicts

    # Then it is kept, the reason names the family and the user, and the protection is the family
    assert verdict.action is Action.KEPT
    assert verdict.reason == f"in use by {word} {who}"
    assert verdict.protection is family


@pytest.mark.parametrize("status", ["ARCHIVED", "ACTIVATING"])
def test_an_archived_image_is_never_a_candidate_and_protects_its_children_and_referrers(status: str) -> None:
    # Given an archived (or activating) index with a child and a signature, and an archived image alone, all 99 days old
    images = [
        node("archived-idx", 99, index=True, status=status),
        node("child", 99),
        node("sig", 99, subject="archived-idx"),
        node("archived-loose", 99, status=status),
    ]

    # When the plan runs with a retention of 0 days
    result = plan(images, Retention(0), NOW, children={"sha256:archived-idx": ["sha256:child"]})

    # Then the archived images get no verdict, and the child and the signature are kept for the archived index
    assert by_digest(result) == {
        "child": (Action.KEPT, "child of kept index sha256:archived-idx"),
        "sig": (Action.KEPT, "referrer of kept image sha256:archived-idx"),
    }
    # And nothing is deleted
    assert result.waves == []


def test_an_orphan_referrer_to_be_deleted_names_its_absent_subject() -> None:
    # Given an expired referrer whose subject is missing, and an expired image with its signature
    images = [node("orphan", 9, subject="missing"), node("old", 9), node("sig", 9, subject="old")]

    # When the plan runs
    result = plan(images, Retention(1), NOW)

    # Then the absent subject is recorded for the orphan referrer only
    assert result.absent_subjects == {"sha256:orphan": "sha256:missing"}


def test_children_missing_from_the_repository_are_ignored() -> None:
    # Given a tagged index that lists a child the repository does not hold
    images = [node("idx", 9, tags=("t",), index=True)]

    # When the plan runs, then there is no verdict
    assert plan(images, Retention(1), NOW, children={"sha256:idx": ["sha256:elsewhere"]}).verdicts == []


def test_a_deletion_an_unreadable_archived_index_may_forbid_carries_a_caveat() -> None:
    # The archived index's manifest could not be read (no entry in children): what it lists is
    # unknown, whatever the push times (a restored image counts as newly pushed).
    # Given images pushed before and after an archived index whose manifest could not be read, and a young image
    images = [
        node("older", 90),
        node("archived-idx", 60, index=True, status="ARCHIVED"),
        node("newer", 30),
        node("young", 0.1),
    ]

    # When the plan runs with a retention of 1 day
    result = plan(images, Retention(1), NOW)

    # Then the two expired images carry the same caveat: the archived index may list them
    caveats = {v.image.digest.removeprefix("sha256:"): v.caveat for v in result.verdicts}
    assert caveats["older"] == caveats["newer"]
    assert str(caveats["older"]).startswith("archived index sha256:archived-idx may list it")
    # And the young image is kept without a caveat, and the two others would still be deleted
    assert caveats["young"] is None, "a kept digest needs no caveat"
    assert [v.action for v in result.verdicts] == [Action.WOULD_DELETE, Action.WOULD_DELETE, Action.KEPT]


def test_the_referrer_of_a_doubtful_deletion_waits_for_its_subject() -> None:
    # Given an expired image with its signature, and an archived index whose manifest could not be read
    images = [
        node("subject", 90),
        node("sig", 90, subject="subject"),
        node("archived-idx", 60, index=True, status="ARCHIVED"),
    ]

    # When the plan runs
    result = plan(images, Retention(1), NOW)

    # Then the image is deleted in the first wave, and its signature waits for the next one
    assert waves(result) == [["subject"], ["sig"]]
    # And every verdict carries the caveat
    assert all(v.caveat for v in result.verdicts)


def test_an_archived_index_whose_manifest_was_read_leaves_no_doubt() -> None:
    # Given two expired images and an archived index whose manifest was read and lists one of them
    images = [node("child", 90), node("other", 90), node("archived-idx", 60, index=True, status="ARCHIVED")]

    # When the plan runs
    result = plan(images, Retention(1), NOW, children={"sha256:archived-idx": ["sha256:child"]})

    # Then the listed image is kept as the child of the archived index
    assert by_digest(result)["child"] == (Action.KEPT, "child of kept index sha256:archived-idx")
    # And no verdict carries a caveat
    assert [v.caveat for v in result.verdicts] == [None, None]
