"""Scale: the exact API calls a sweep makes, a bounded worker pool, the deadline and the rotation."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest

from ecr_sweeper.core.rotation import Position
from emulator.bulk import create_repositories, push_untagged
from emulator.ecr import Fault, Hook, faults
from emulator.identity import OWN
from emulator.seed import create_repository, push, push_index
from tests.integration.conftest import Invoke
from tests.integration.images import SIZE, ago, digests

CURSOR = "/ecr-sweeper/test/next-start"


def test_the_exact_number_of_ecr_calls_for_a_seeded_account(
    ecr: Any, ecr_calls: dict[str, int], invoke: Invoke
) -> None:
    # Given: a large repository (1,500 images: 1,250 expired untagged, 3 tagged indexes),
    # an opted-out one, one with an invalid tag, and an empty one.
    create_repository(ecr, "big", "1")
    push_untagged("big", [f"old-{n}" for n in range(1_250)], pushed_at=ago(5))
    children = push_untagged("big", [f"child-{n}" for n in range(244)], pushed_at=ago(5))
    for n in range(3):
        push_index(ecr, "big", children[n::3], tag=f"v{n}", salt=str(n), pushed_at=ago(5))
    push(ecr, "big", "current", tag="latest")
    create_repository(ecr, "opted-out", "off")
    create_repository(ecr, "typo", "7 days")
    create_repository(ecr, "empty", "1")
    ecr_calls.clear()

    # When the sweep runs
    run = invoke()
    counted = dict(ecr_calls)

    # Then it deleted every expired digest with the fewest calls
    assert run.error is None
    assert run.metric("ImagesDeleted") == 1_250
    # The minimum: one listing page of repositories; one ListTagsForResource per repository;
    # ceil(images / 1000) DescribeImages per swept repository; ceil(indexes / 100) BatchGetImage;
    # ceil(deletes / 100) BatchDeleteImage, each with its one re-check DescribeImages.
    assert counted == {
        "DescribeRepositories": 1,
        "ListTagsForResource": 4,
        "DescribeImages": 2 + 1 + 13,  # big (1,498 images), empty, re-checks
        "BatchGetImage": 1,
        "BatchDeleteImage": 13,
    }


@pytest.mark.parametrize("workers", [1, 4])
def test_the_worker_pool_is_bounded_by_max_workers(ecr: Any, invoke: Invoke, workers: int) -> None:
    # Given 12 repositories with one expired digest each
    for n in range(12):
        create_repository(ecr, f"repo-{n:02d}", "1")
        push(ecr, f"repo-{n:02d}", f"x{n}", pushed_at=ago(5))
    # And a DescribeImages that counts how many calls are in flight at once
    in_flight = {"now": 0, "peak": 0}
    lock = threading.Lock()

    def slow(_: dict[str, Any]) -> None:
        with lock:
            in_flight["now"] += 1
            in_flight["peak"] = max(in_flight["peak"], in_flight["now"])
        time.sleep(0.02)
        with lock:
            in_flight["now"] -= 1

    faults.hooks.append(Hook("DescribeImages", slow, times=None))

    # When the sweep runs with MAX_WORKERS of 1 or 4
    run = invoke(env={"MAX_WORKERS": str(workers)})

    # Then it deletes all 12, and at its peak exactly MAX_WORKERS repositories were read at once, never more
    assert run.error is None and run.metric("ImagesDeleted") == 12
    assert in_flight["peak"] == workers


@dataclass
class Clock:
    """A Lambda context whose remaining time drops below the margins after `plenty_for` checks."""

    plenty_for: int
    checks: int = 0
    aws_request_id: str = "scale-test"
    log: list[int] = field(default_factory=list)

    def get_remaining_time_in_millis(self) -> int:
        self.checks += 1
        return 600_000 if self.checks <= self.plenty_for else 20_000


def _summaries(run: Any) -> list[str]:
    return [r["repository"] for r in run.records(record_type="repository_summary")]


def test_the_deadline_defers_repositories_and_the_next_run_starts_there(ecr: Any, invoke: Invoke) -> None:
    # Given a cursor at the beginning, and 10 repositories with one expired digest each
    ssm = boto3.client("ssm", **OWN)
    ssm.put_parameter(Name=CURSOR, Value="-", Type="String")
    names = [f"repo-{n:02d}" for n in range(10)]
    for name in names:
        create_repository(ecr, name, "1")
        push(ecr, name, name, pushed_at=ago(5))
    env = {"MAX_WORKERS": "1", "CURSOR_PARAMETER": CURSOR}

    # When a run has time to start 3 repositories only
    # Each repository checks the clock once to start and once per delete batch: 3 repositories fit.
    first = invoke(env=env, context=Clock(plenty_for=6))

    # Then it sweeps the first 3 and defers the other 7, and the cursor points at repo-03
    assert first.error is None
    assert _summaries(first) == names[:3]
    assert first.metric("RepositoriesDeferred") == 7
    assert first.result["deferred"] == 7 and first.result["nextStart"] == "repo-03"  # type: ignore[index]
    # The next run starts at repo-03; repo-03 to repo-09 (up to repo-00, where this run began) were not started.
    assert Position.decode(ssm.get_parameter(Name=CURSOR)["Parameter"]["Value"]) == Position(
        "repo-03", ("repo-03", "repo-00")
    )
    # And it warns that 7 repositories were not started, and their digests are still there
    [deadline] = first.records(record_type="deadline")
    assert deadline["level"] == "WARNING" and deadline["repositories_not_started"] == 7
    assert all(digests(ecr, name) for name in names[3:])

    # When the next run has time enough
    second = invoke(env=env)

    # Then it starts at repo-03, sweeps every repository, defers none, and the cursor is back at the beginning
    assert _summaries(second) == names[3:] + names[:3]
    assert all(not digests(ecr, name) for name in names)
    assert second.metric("RepositoriesDeferred") == 0
    assert ssm.get_parameter(Name=CURSOR)["Parameter"]["Value"] == "-"


def test_the_deadline_never_starts_a_delete_batch_it_cannot_finish(
    ecr: Any, ecr_calls: dict[str, int], invoke: Invoke
) -> None:
    # Given 250 expired digests, three delete batches' worth
    create_repository(ecr, "big", "1")
    push_untagged("big", [f"old-{n}" for n in range(250)], pushed_at=ago(5))
    ecr_calls.clear()

    # When the time runs out after one check to start the repository and one for the first batch
    run = invoke(env={"MAX_WORKERS": "1"}, context=Clock(plenty_for=2))

    # Then only the first batch is deleted, and the rest is deferred to the next run
    assert ecr_calls["BatchDeleteImage"] == 1
    assert len(digests(ecr, "big")) == 150
    [summary] = run.records(record_type="repository_summary")
    assert summary["status"] == "deferred"
    assert summary["detail"] == "deadline: 150 planned deletion(s) left for the next run"
    assert run.metric("RepositoriesDeferred") == 1 and run.metric("ImagesDeleted") == 100


def test_a_missing_cursor_parameter_starts_at_the_first_repository(ecr: Any, invoke: Invoke) -> None:
    # Given two repositories, and a cursor parameter that does not exist
    for name in ("a-repo", "b-repo"):
        create_repository(ecr, name, "1")

    # When the sweep runs
    run = invoke(env={"MAX_WORKERS": "1", "CURSOR_PARAMETER": "/does/not/exist"})

    # Then it sweeps both, starting at the first
    assert run.error is None
    assert _summaries(run) == ["a-repo", "b-repo"]


def test_a_repositories_filter_neither_reads_nor_moves_the_cursor(ecr: Any, invoke: Invoke) -> None:
    # Given a cursor at b-repo, and two repositories
    ssm = boto3.client("ssm", **OWN)
    ssm.put_parameter(Name=CURSOR, Value="b-repo", Type="String")
    for name in ("a-repo", "b-repo"):
        create_repository(ecr, name, "1")

    # When a run is asked for both repositories by name
    run = invoke(event={"repositories": ["a-repo", "b-repo"]}, env={"MAX_WORKERS": "1", "CURSOR_PARAMETER": CURSOR})

    # Then it sweeps both from the first, not from the cursor, and the cursor is unchanged
    assert _summaries(run) == ["a-repo", "b-repo"]
    assert ssm.get_parameter(Name=CURSOR)["Parameter"]["Value"] == "b-repo"


def test_invalid_max_workers_is_refused_before_any_call(ecr: Any, invoke: Invoke) -> None:
    # Given a DescribeRepositories that would be denied if it were called
    faults.calls.append(Fault("DescribeRepositories", "AccessDeniedException"))

    # When the handler runs with MAX_WORKERS of 0, 65, many or nothing, then it refuses, naming the value, before that
    # call
    for value in ("0", "65", "many", ""):
        run = invoke(env={"MAX_WORKERS": value})
        assert run.error is not None and f"MAX_WORKERS={value!r}" in str(run.error)


def test_records_from_concurrent_workers_carry_their_own_repository(ecr: Any, invoke: Invoke) -> None:
    # Given 24 repositories of 5 expired digests each
    names = [f"repo-{n:02d}" for n in range(24)]
    create_repositories(names, "1")
    owner = {}
    for name in names:
        for digest in push_untagged(name, [f"{name}-{m}" for m in range(5)], pushed_at=ago(5)):
            owner[digest] = name

    # When 8 workers sweep them at once
    run = invoke(env={"MAX_WORKERS": "8"})

    # Then every record names the repository its own worker was sweeping
    verdicts = run.records(record_type="verdict")
    assert len(verdicts) == 120
    assert all(owner[r["digest"]] == r["repository"] for r in verdicts)
    summaries = run.records(record_type="repository_summary")
    assert sorted(r["repository"] for r in summaries) == sorted(set(owner.values()))
    # Records written outside any repository's work carry none.
    [finished] = run.records(record_type="sweep_summary")
    assert "repository" not in finished
    assert run.metric("ImagesDeleted") == 120


def test_more_than_1000_images_in_one_repository(ecr: Any, ecr_calls: dict[str, int], invoke: Invoke) -> None:
    # Given 1,150 expired and 5 young untagged digests in one repository
    create_repository(ecr, "big", "1")
    old = set(push_untagged("big", [f"old-{n}" for n in range(1_150)], pushed_at=ago(3)))
    young = set(push_untagged("big", [f"young-{n}" for n in range(5)], pushed_at=ago(0.1)))
    ecr_calls.clear()

    # When the sweep runs
    run = invoke()
    counted = dict(ecr_calls)

    # Then every expired digest is deleted, across listing pages and delete batches
    assert run.error is None
    assert digests(ecr, "big") == young
    assert run.metric("ImagesScanned") == 1_155
    assert run.metric("ImagesDeleted") == 1_150
    assert {r["digest"] for r in run.records(action="deleted")} == old
    assert run.metric("BytesReclaimed") == 1_150 * SIZE
    # Every page followed (1,000 per call), every batch within ECR's limit of 100 ids, and each
    # batch described once more just before its delete call.
    assert counted["BatchDeleteImage"] == 12
    assert counted["DescribeImages"] == 2 + 12


def test_more_than_100_repositories(ecr: Any, ecr_calls: dict[str, int], invoke: Invoke) -> None:
    # Given 130 repositories, each with one expired untagged digest
    names = [f"repo-{n:03d}" for n in range(130)]
    create_repositories(names, "2")
    for n, name in enumerate(names):
        push_untagged(name, [f"s{n}"], pushed_at=ago(3))
    ecr_calls.clear()

    # When the sweep runs
    run = invoke()
    counted = dict(ecr_calls)

    # Then all are swept, listed with one call (1,000 per page) and one tag read each
    assert run.metric("RepositoriesScanned") == 130
    assert run.metric("ImagesDeleted") == 130
    assert all(digests(ecr, f"repo-{n:03d}") == set() for n in range(130))
    assert counted["DescribeRepositories"] == 1
    assert counted["ListTagsForResource"] == 130
