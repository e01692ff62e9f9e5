"""Given repositories with and without a retention tag, when the sweep runs, then exactly the untagged
digests older than their repository's retention (by push and by last pull) are deleted, and a
repository tagged off, or with an invalid tag, is left alone."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from emulator.ecr import Fault, faults
from emulator.seed import create_repository, push
from tests.integration.conftest import Invoke
from tests.integration.images import NOW, SIZE, ago, digests, untagged


def test_default_retention_deletes_untagged_digests_older_than_seven_days(ecr: Any, invoke: Invoke) -> None:
    # Given a repository without a retention tag
    create_repository(ecr, "team/api")
    old = untagged(ecr, "team/api", "old", 8)
    young = untagged(ecr, "team/api", "young", 6)
    tagged = push(ecr, "team/api", "tagged", tag="v1", pushed_at=ago(400))

    # When the scheduled sweep runs
    run = invoke()

    # Then only the expired untagged digest is gone
    assert run.error is None
    assert digests(ecr, "team/api") == {young, tagged}
    [deleted] = run.records(action="deleted")
    assert deleted["repository"] == "team/api"
    assert deleted["digest"] == old
    assert deleted["level"] == "INFO"
    assert deleted["size_bytes"] == SIZE
    assert deleted["reason"].startswith("expired: pushed 8d ago")
    assert "retention 7d" in deleted["reason"]
    assert datetime.fromisoformat(deleted["pushed_at"]) == ago(8).replace(microsecond=ago(8).microsecond // 1000 * 1000)
    assert run.metric("ImagesDeleted") == 1
    assert run.metric("BytesReclaimed") == SIZE
    assert run.metric("ImagesScanned") == 3
    assert run.metric("UntaggedImages") == 2
    assert run.metric("RepositoriesScanned") == 1


def test_a_moved_tag_leaves_an_untagged_digest_that_expires(ecr: Any, invoke: Invoke) -> None:
    # Given a tag moved from an old build to a new one
    create_repository(ecr, "web", "3")
    first = push(ecr, "web", "build-1", tag="latest", pushed_at=ago(10))
    second = push(ecr, "web", "build-2", tag="latest")

    # When the sweep runs
    run = invoke()

    # Then the old build, left untagged and expired, is deleted
    assert digests(ecr, "web") == {second}
    assert [r["digest"] for r in run.records(action="deleted")] == [first]


@pytest.mark.parametrize(
    ("tag", "expect_deleted"),
    [("0", {"d1", "d6", "d30"}), ("3", {"d6", "d30"}), ("3d", {"d6", "d30"}), (" 30D ", {"d30"}), ("off", set())],
)
def test_retention_tag_values(ecr: Any, invoke: Invoke, tag: str, expect_deleted: set[str]) -> None:
    # Given untagged digests half a day, 6 and 30 days old under a retention tag, and an old tagged one
    create_repository(ecr, "svc", tag)
    pushed = {name: untagged(ecr, "svc", name, days) for name, days in (("d1", 0.5), ("d6", 6), ("d30", 30))}
    kept_tagged = push(ecr, "svc", "t", tag="prod", pushed_at=ago(999))

    # When the sweep runs
    run = invoke()

    # Then the tag's value decides which untagged digests expire
    assert run.error is None
    expected_left = {d for name, d in pushed.items() if name not in expect_deleted} | {kept_tagged}
    assert digests(ecr, "svc") == expected_left
    assert {r["digest"] for r in run.records(action="deleted")} == {pushed[n] for n in expect_deleted}
    assert run.metric("ImagesDeleted") == len(expect_deleted)


def test_retention_zero_deletes_even_a_digest_pulled_a_minute_ago(ecr: Any, invoke: Invoke) -> None:
    # Given retention 0 and an untagged digest pulled a minute ago
    create_repository(ecr, "scratch", "0")
    digest = untagged(ecr, "scratch", "x", 0.01, last_pulled_at=NOW - timedelta(minutes=1))

    # When the sweep runs
    run = invoke()

    # Then it is deleted all the same
    assert digests(ecr, "scratch") == set()
    assert run.records(action="deleted")[0]["digest"] == digest


def test_off_repository_is_not_even_listed(ecr: Any, invoke: Invoke) -> None:
    # Given a repository tagged never, whose listing would fail
    create_repository(ecr, "golden", "never")
    keep = untagged(ecr, "golden", "x", 900)
    faults.calls.append(Fault("DescribeImages", "AccessDeniedException", repository="golden"))

    # When the sweep runs
    run = invoke()
    faults.reset()

    # Then no DescribeImages call was made, or the injected fault would have failed the run
    assert run.error is None
    assert digests(ecr, "golden") == {keep}
    [summary] = run.records(record_type="repository_summary")
    assert summary["status"] == "skipped"
    assert summary["retention"] == "never"


def test_a_recent_pull_keeps_an_old_digest(ecr: Any, invoke: Invoke) -> None:
    # Given two old untagged digests, one pulled 2 days ago and one 8 days ago, under retention 7
    create_repository(ecr, "batch", "7")
    pulled = untagged(ecr, "batch", "pulled", 60, last_pulled_at=ago(2))
    stale = untagged(ecr, "batch", "stale", 60, last_pulled_at=ago(8))

    # When the sweep runs with DEBUG records
    run = invoke(env={"POWERTOOLS_LOG_LEVEL": "DEBUG"})

    # Then the recent pull keeps its digest, and each verdict says why
    assert digests(ecr, "batch") == {pulled}
    [deleted] = run.records(action="deleted")
    assert deleted["digest"] == stale
    assert "last pulled 8d ago" in deleted["reason"]
    [kept] = run.records(action="kept")
    assert kept["digest"] == pulled
    assert kept["level"] == "DEBUG"
    assert kept["reason"].startswith("pulled recently: last pulled 2d ago")


def test_opt_in_mode_sweeps_only_tagged_repositories(ecr: Any, invoke: Invoke) -> None:
    # Given one repository with a retention tag and one without
    create_repository(ecr, "opted-in", "1")
    create_repository(ecr, "untouched")
    gone = untagged(ecr, "opted-in", "a", 5)
    stays = untagged(ecr, "untouched", "b", 500)

    # When the sweep runs with no default retention
    run = invoke(env={"DEFAULT_RETENTION_DAYS": "off"})

    # Then only the tagged repository is swept
    assert digests(ecr, "opted-in") == set()
    assert digests(ecr, "untouched") == {stays}
    assert [r["digest"] for r in run.records(action="deleted")] == [gone]
    statuses = {r["repository"]: r["status"] for r in run.records(record_type="repository_summary")}
    assert statuses == {"opted-in": "swept", "untouched": "skipped"}


def test_custom_retention_tag_key(ecr: Any, invoke: Invoke) -> None:
    # Given one repository tagged with the configured key and one with the default key
    create_repository(ecr, "custom", "1", key="cleanup/days")
    create_repository(ecr, "default-key", "1")  # this key is not the configured one: default 30 applies
    a = untagged(ecr, "custom", "a", 2)
    b = untagged(ecr, "default-key", "b", 2)

    # When the sweep runs with a custom tag key and a default retention of 30 days
    invoke(env={"RETENTION_TAG_KEY": "cleanup/days", "DEFAULT_RETENTION_DAYS": "30"})

    # Then only the configured key's retention applies
    assert a not in digests(ecr, "custom")
    assert digests(ecr, "default-key") == {b}


@pytest.mark.parametrize("value", ["abc", "-1", "7 days", "1.5", "", "99999", "3dd", "٣"])
def test_invalid_retention_tag_skips_only_that_repository(ecr: Any, invoke: Invoke, value: str) -> None:
    # Given a repository whose retention tag is invalid, and a healthy one
    create_repository(ecr, "broken", value)
    create_repository(ecr, "healthy", "1")
    protected = untagged(ecr, "broken", "p", 900)
    untagged(ecr, "healthy", "h", 5)

    # When the sweep runs
    run = invoke()

    # Then the broken repository is skipped with a warning naming it, and the other one is swept
    assert run.error is None, "an invalid tag is not a failed run"
    assert digests(ecr, "broken") == {protected}
    assert digests(ecr, "healthy") == set()
    [warning] = run.records(record_type="invalid_retention_tag")
    assert warning["level"] == "WARNING"
    assert warning["repository"] == "broken"
    assert warning["tag_key"] == "ecr-sweeper:retention-days"
    assert warning["tag_value"] == value
    assert "broken" in warning["message"] and repr(value) in warning["message"]
    assert run.metric("InvalidRetentionTags") == 1
    assert run.metric("RepositoryErrors") == 0
    summary = {r["repository"]: r for r in run.result["repositories"]}  # type: ignore[index]
    assert summary["broken"]["status"] == "invalid_tag"
