"""Rotation for every engine: where the next run starts, who may move it, and starvation.

Given repositories that one invocation cannot all start, when runs follow each other, then each
run resumes where the last real one stopped, a dry run moves nothing, every Step Functions batch
keeps its own place, and repositories left out two runs in a row are reported as starved.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from ecr_sweeper.core.rotation import Position
from ecr_sweeper.faces import steps as stepfunctions
from emulator.identity import OWN
from emulator.seed import create_repository
from tests.integration.conftest import Invoke
from tests.integration.images import digests, untagged
from tests.output import invoke_captured

CURSOR = "/ecr-sweeper/test/next-start"


@dataclass
class OneRepository:
    """A Lambda context with time to start exactly one repository: after the first check, 60 s are
    left, enough for delete batches (30 s margin) but not to start another repository (120 s)."""

    checks: int = 0
    aws_request_id: str = "rotation-test"

    def get_remaining_time_in_millis(self) -> int:
        self.checks += 1
        return 900_000 if self.checks == 1 else 60_000


def seed(ecr: Any, names: list[str]) -> None:
    for name in names:
        create_repository(ecr, name, "1")
        untagged(ecr, name, name, days=5)


def images(ecr: Any, name: str) -> int:
    return len(digests(ecr, name))


def swept(run: Any) -> list[str]:
    return [r["repository"] for r in run.records(record_type="repository_summary")]


def stored(name: str = CURSOR) -> str:
    return str(boto3.client("ssm", **OWN).get_parameter(Name=name)["Parameter"]["Value"])


@pytest.fixture
def cursor() -> str:
    boto3.client("ssm", **OWN).put_parameter(Name=CURSOR, Value="-", Type="String")
    return CURSOR


def test_a_dry_run_never_moves_the_cursor(ecr: Any, invoke: Invoke, cursor: str) -> None:
    # Given three repositories, and time for one per run
    seed(ecr, ["aa", "bb", "cc"])
    env = {"MAX_WORKERS": "1", "CURSOR_PARAMETER": cursor}

    # When a manual dry run is cut by its deadline
    dry = invoke(event={"dryRun": True}, env=env, context=OneRepository())

    # Then it reports where a run would resume, but the nightly cursor is untouched
    assert swept(dry) == ["aa"] and dry.result["nextStart"] == "bb"  # type: ignore[index]
    assert stored() == "-"

    # And the next real run starts where the last real run stopped (the beginning), not at "bb"
    real = invoke(env=env, context=OneRepository())
    assert swept(real) == ["aa"] and images(ecr, "aa") == 0 and images(ecr, "bb") == 1
    assert Position.decode(stored()).start == "bb"


def test_the_cursor_of_earlier_versions_is_read_as_the_start(ecr: Any, invoke: Invoke, cursor: str) -> None:
    # Given a cursor written by a version that stored the bare repository name
    seed(ecr, ["aa", "bb", "cc"])
    boto3.client("ssm", **OWN).put_parameter(Name=cursor, Value="bb", Type="String", Overwrite=True)

    # When the next run starts
    run = invoke(env={"MAX_WORKERS": "1", "CURSOR_PARAMETER": cursor})

    # Then it starts there, and nothing is reported starved (the old record says nothing about it)
    assert swept(run) == ["bb", "cc", "aa"]
    assert run.metric("RepositoriesStarved") == 0


def test_repositories_left_out_two_runs_in_a_row_are_starved(ecr: Any, invoke: Invoke, cursor: str) -> None:
    # Given four repositories, and time for one per run
    seed(ecr, ["aa", "bb", "cc", "dd"])
    env = {"MAX_WORKERS": "1", "CURSOR_PARAMETER": cursor}

    # When two runs follow each other
    first = invoke(env=env, context=OneRepository())
    after_first = Position.decode(stored())
    second = invoke(env=env, context=OneRepository())

    # Then the first left bb, cc and dd out, but nobody had before: nothing starved yet
    assert swept(first) == ["aa"] and first.metric("RepositoriesStarved") == 0
    assert after_first == Position("bb", ("bb", "aa"))
    # And the second resumed at bb, and cc and dd were left out by both: starved, loudly
    assert swept(second) == ["bb"]
    assert second.metric("RepositoriesStarved") == 2
    assert second.result["starved"] == 2  # type: ignore[index]
    [starved] = second.records(record_type="starved")
    assert starved["level"] == "WARNING" and starved["repositories"] == ["cc", "dd"]
    assert "engine=stepfunctions" in starved["message"]


def test_a_run_that_starts_nothing_starves_everything_left_out_before(ecr: Any, invoke: Invoke, cursor: str) -> None:
    # Given a run that left b and c out
    seed(ecr, ["aa", "bb", "cc"])
    env = {"MAX_WORKERS": "1", "CURSOR_PARAMETER": cursor}
    invoke(env=env, context=OneRepository())

    # When the next run has no time to start anything
    @dataclass
    class NoTime:
        aws_request_id: str = "no-time"

        def get_remaining_time_in_millis(self) -> int:
            return 60_000

    run = invoke(env=env, context=NoTime())

    # Then bb and cc are starved, aa is not (the first run swept it), and the cursor stays at bb
    assert swept(run) == [] and run.metric("RepositoriesStarved") == 2
    assert Position.decode(stored()) == Position("bb", ("bb", "bb"))


# --- the Step Functions engine: each batch keeps its own rotation --------------------------------


def sweep_batch(repositories: list[str], batch: int | None, *, rotate: bool = True, dry_run: bool = False) -> Any:
    event = {"step": "sweep", "repositories": repositories, "dryRun": dry_run, "asOf": None, "batch": batch,
             "rotate": rotate}  # fmt: skip
    run = invoke_captured(event, OneRepository(), stepfunctions.handler)
    assert run.error is None, run.error
    return run


@pytest.fixture
def steps(ecr: Any, monkeypatch: pytest.MonkeyPatch, cursor: str) -> None:
    monkeypatch.setenv("MAX_WORKERS", "1")
    monkeypatch.setenv("CURSOR_PARAMETER", cursor)


def test_a_cut_batch_resumes_where_it_stopped_the_next_night(ecr: Any, steps: None) -> None:
    # Given two batches of three repositories, and time for one repository per invocation
    seed(ecr, ["aa", "bb", "cc", "xx", "yy", "zz"])

    # When three nights run both batches
    nights = [[sweep_batch(["aa", "bb", "cc"], 0).result, sweep_batch(["xx", "yy", "zz"], 1).result] for _ in range(3)]

    # Then every batch went round its own repositories, one a night, and nothing is left
    assert all(images(ecr, name) == 0 for name in ("aa", "bb", "cc", "xx", "yy", "zz"))
    assert [[night[0]["repositoriesScanned"], night[1]["repositoriesScanned"]] for night in nights] == [[1, 1]] * 3
    assert Position.decode(stored(f"{CURSOR}/batch/0")).start == "aa"
    assert Position.decode(stored(f"{CURSOR}/batch/1")).start == "xx"
    # And from the second night on, one repository of each batch had been left out twice in a row
    assert [night[0]["starved"] for night in nights] == [[], ["cc"], ["aa"]]
    assert [night[1]["starved"] for night in nights] == [[], ["zz"], ["xx"]]
    assert [night[0]["repositoriesStarved"] for night in nights] == [0, 1, 1]


def test_the_collect_step_reports_starved_repositories(ecr: Any, steps: None) -> None:
    # Given the batches of a night where c and z were left out two nights in a row
    results = [
        {"repositoriesScanned": 1, "imagesDeleted": 1, "repositoriesStarved": 1, "starved": ["cc"], "failed": []},
        {"repositoriesScanned": 1, "imagesDeleted": 1, "repositoriesStarved": 1, "starved": ["zz"], "failed": []},
    ]

    # When the collect step adds them up
    run = invoke_captured({"step": "collect", "results": results}, OneRepository(), stepfunctions.handler)

    # Then the execution's output and a warning say which
    assert run.error is None and run.result["repositoriesStarved"] == 2  # type: ignore[index]
    [warning] = run.records(record_type="starved")
    assert warning["level"] == "WARNING" and warning["repositories"] == ["cc", "zz"]
    assert "repositoriesPerInvocation" in warning["message"]


def test_a_dry_run_batch_moves_no_cursor_and_named_repositories_none_either(ecr: Any, steps: None) -> None:
    # Given a batch of three repositories
    seed(ecr, ["aa", "bb", "cc"])
    ssm = boto3.client("ssm", **OWN)

    # When it is swept as a dry run, and as repositories a person named (rotate false)
    sweep_batch(["aa", "bb", "cc"], 0, dry_run=True)
    named = sweep_batch(["aa", "bb", "cc"], 0, rotate=False)

    # Then no batch cursor exists, and the named run swept in the order given
    assert ssm.get_parameters_by_path(Path=CURSOR, Recursive=True)["Parameters"] == []
    assert named.result["repositoriesScanned"] == 1 and images(ecr, "aa") == 0


def test_a_repository_deleted_since_the_list_step_is_gone_not_failed(ecr: Any, steps: None) -> None:
    # Given a batch listed by the sweeper, one of whose repositories was deleted since
    seed(ecr, ["aa"])

    # When the batch is swept
    result = sweep_batch(["aa", "deleted-meanwhile"], 0).result

    # Then the batch does not fail for it (a repository a person named would: RepositoryNotFound)
    assert result["failed"] == [] and result["repositoryErrors"] == 0


def test_a_batch_emits_repositories_starved_with_its_other_metrics(ecr: Any, steps: None) -> None:
    # Given a batch
    seed(ecr, ["aa", "bb", "cc"])

    # When it is swept
    run = sweep_batch(["aa", "bb", "cc"], 0)

    # Then its EMF blob carries RepositoriesStarved with the others
    assert run.metric("RepositoriesStarved") == 0 and run.metric("RepositoriesDeferred") == 2
