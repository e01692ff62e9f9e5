"""Given repositories with expired digests and the Step Functions engine's settings, when each Lambda
step runs through its handler, or the synthesized state machine runs in moto's interpreter, then
the batches, the sweeps and the collected totals are what the one-function engine would produce."""

from __future__ import annotations

import io
import json
import time
import zipfile
from typing import Any

import boto3
import pytest
from moto.core.config import default_user_config

from ecr_sweeper.faces import steps as stepfunctions
from emulator.compute import lambda_in_process
from emulator.ecr import Fault, faults
from emulator.identity import OWN
from emulator.seed import create_repository, push
from tests.integration.conftest import LambdaContext
from tests.integration.images import ago, digests

BUCKET = "ecr-sweeper-work"


@pytest.fixture
def work(ecr: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    s3 = boto3.client("s3", **OWN)
    s3.create_bucket(Bucket=BUCKET)
    monkeypatch.setenv("WORK_BUCKET", BUCKET)
    monkeypatch.setenv("REPOSITORIES_PER_INVOCATION", "2")
    monkeypatch.setenv("MAX_WORKERS", "1")
    return s3


def seed(ecr: Any, count: int) -> list[str]:
    names = [f"repo-{n}" for n in range(count)]
    for name in names:
        create_repository(ecr, name, "1")
        push(ecr, name, name, pushed_at=ago(5))
    return names


def step(event: dict[str, Any]) -> dict[str, Any]:
    return stepfunctions.handler(event, LambdaContext())


# --- each step through the handler ------------------------------------------------------------


def test_list_returns_inline_batches_when_they_fit(ecr: Any, work: Any) -> None:
    # Given 5 repositories, 2 per invocation
    names = seed(ecr, 5)

    # When the list step runs on the scheduled event
    listed = step({"step": "list", "input": {"source": "aws.events", "detail": {}}})

    # Then it returns the batches in the state itself
    assert listed["batches"] == [
        {"repositories": names[0:2]},
        {"repositories": names[2:4]},
        {"repositories": names[4:]},
    ]
    assert listed["dryRun"] is False and listed["asOf"] is None and listed["repositoryCount"] == 5
    assert "itemsKey" not in listed


def test_list_writes_batches_to_s3_when_they_would_not_fit_in_the_state(
    ecr: Any, work: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given 3 repositories, and a state too small for their batches
    names = seed(ecr, 3)
    monkeypatch.setattr(stepfunctions, "INLINE_LIMIT_BYTES", 10)

    # When the list step runs
    listed = step({"step": "list", "input": {"dryRun": True}})

    # Then it writes the batches to the work bucket and returns where
    assert "batches" not in listed and listed["itemsBucket"] == BUCKET
    written = json.loads(work.get_object(Bucket=BUCKET, Key=listed["itemsKey"])["Body"].read())
    assert written == [{"repositories": names[0:2]}, {"repositories": names[2:]}]
    assert listed["dryRun"] is True


def test_list_validates_the_execution_input_as_the_function_does(ecr: Any, work: Any) -> None:
    # Given execution inputs the function would refuse: asOf outside a dry run, an unknown key
    # When the list step runs on them
    # Then it refuses them with the function's message
    with pytest.raises(ValueError, match="only allowed in a dry run"):
        step({"step": "list", "input": {"asOf": "2030-01-01"}})
    with pytest.raises(ValueError, match="'bogus'"):
        step({"step": "list", "input": {"bogus": 1}})


def test_list_with_a_repositories_filter_batches_just_those(ecr: Any, work: Any) -> None:
    # Given 4 repositories
    seed(ecr, 4)

    # When the execution input names two of them and one that does not exist
    listed = step({"step": "list", "input": {"repositories": ["repo-3", "repo-1", "missing"]}})

    # Then just those are batched, in the order given, the missing one included for the sweep to report
    assert listed["batches"] == [{"repositories": ["repo-3", "repo-1"]}, {"repositories": ["missing"]}]


def test_sweep_reports_failed_repositories_without_raising(ecr: Any, work: Any) -> None:
    # Given 3 repositories, one of them unreadable
    seed(ecr, 3)
    faults.calls.append(Fault("DescribeImages", "AccessDeniedException", repository="repo-1"))

    # When a sweep step gets a batch of the readable one, the unreadable one and a missing one
    result = step({"step": "sweep", "repositories": ["repo-0", "repo-1", "missing"], "dryRun": False, "asOf": None})
    faults.reset()

    # Then it sweeps the readable one and returns the two failures instead of raising
    assert digests(ecr, "repo-0") == set() and digests(ecr, "repo-2") != set()
    assert result["imagesDeleted"] == 1 and result["repositoryErrors"] == 2
    assert sorted(f["repository"] for f in result["failed"]) == ["missing", "repo-1"]


def test_collect_adds_up_and_fails_naming_the_failed_repositories(ecr: Any, work: Any) -> None:
    # Given the results of two clean batches, and of a batch with a failed repository
    ok = {"imagesDeleted": 2, "repositoriesScanned": 2, "failed": []}
    bad = {"imagesDeleted": 1, "repositoriesScanned": 1, "failed": [{"repository": "locked", "detail": "AccessDenied"}]}

    # When the collect step adds them up
    # Then clean results are summed, and a failed repository fails the step naming it
    assert step({"step": "collect", "results": [ok, ok]})["imagesDeleted"] == 4
    with pytest.raises(stepfunctions.RepositoriesFailed, match=r"1 repositories failed: locked \(AccessDenied\)"):
        step({"step": "collect", "results": [ok, bad]})


def test_collect_reads_a_distributed_maps_result_writer_output(ecr: Any, work: Any) -> None:
    # Given a distributed Map's result writer output in the work bucket: a manifest and one results file
    results = [{"Output": json.dumps({"imagesDeleted": n, "repositoriesScanned": 1, "failed": []})} for n in (1, 2)]
    work.put_object(Bucket=BUCKET, Key="results/x/SUCCEEDED_0.json", Body=json.dumps(results).encode())
    manifest = {"ResultFiles": {"SUCCEEDED": [{"Key": "results/x/SUCCEEDED_0.json", "Size": 1}], "FAILED": []}}
    work.put_object(Bucket=BUCKET, Key="results/x/manifest.json", Body=json.dumps(manifest).encode())

    # When the collect step is given the manifest
    collected = step({"step": "collect", "resultWriter": {"Bucket": BUCKET, "Key": "results/x/manifest.json"}})

    # Then it reads every batch's result through it
    assert collected["imagesDeleted"] == 3 and collected["batches"] == 2


def test_an_unknown_step_is_refused(ecr: Any, work: Any) -> None:
    # Given an event naming a step that does not exist
    # When the handler runs it
    # Then it refuses, naming the step
    with pytest.raises(ValueError, match="step='dance'"):
        step({"step": "dance"})


# --- the flow, in moto's Step Functions interpreter -------------------------------------------


def _definition(function_arn: str) -> str:
    """The synthesized definition, with the template's references resolved for the emulator."""
    from tests.infrastructure.conftest import synth

    _, template = synth({"engine": "stepfunctions", "mapConcurrency": 1}, bundle=False)
    [machine] = template.find_resources("AWS::StepFunctions::StateMachine").values()
    parts = machine["Properties"]["DefinitionString"]["Fn::Join"][1]
    resolved = []
    for part in parts:
        if isinstance(part, str):
            resolved.append(part)
        elif "Fn::GetAtt" in part:
            resolved.append(function_arn)
        elif part.get("Ref") == "AWS::Partition":
            resolved.append("aws")
        elif part.get("Ref") in ("AWS::Region",):
            resolved.append("us-east-1")
        elif part.get("Ref") in ("AWS::AccountId",):
            resolved.append("123456789012")
        else:
            resolved.append(BUCKET)
    return "".join(resolved)


def _run(definition: str, execution_input: dict[str, Any]) -> dict[str, Any]:
    sfn = boto3.client("stepfunctions", **OWN)
    machine = sfn.create_state_machine(
        name="ecr-sweeper", definition=definition, roleArn="arn:aws:iam::123456789012:role/sfn"
    )["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=machine, input=json.dumps(execution_input))["executionArn"]
    for _ in range(300):
        described = sfn.describe_execution(executionArn=execution)
        if described["status"] != "RUNNING":
            return described  # type: ignore[no-any-return]
        time.sleep(0.1)
    raise AssertionError("the execution did not finish")


def machine_definition() -> str:
    """The synthesized state machine, its steps function created in the emulator (invoked in process)."""
    role = boto3.client("iam", **OWN).create_role(RoleName="steps", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("placeholder.py", "")
    function = boto3.client("lambda", **OWN).create_function(
        FunctionName="steps",
        Runtime="python3.13",
        Role=role,
        Handler="ecr_sweeper.stepfunctions.handler",
        Code={"ZipFile": archive.getvalue()},
    )["FunctionArn"]
    return _definition(function)


@pytest.fixture
def machine(ecr: Any, work: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setitem(default_user_config["stepfunctions"], "execute_state_machine", True)
    return machine_definition()


def test_the_state_machine_sweeps_every_batch_inline(ecr: Any, machine: str, capsys: Any) -> None:
    # Given 5 repositories with an expired digest each
    names = seed(ecr, 5)

    # When the schedule starts the state machine
    with lambda_in_process() as received:
        execution = _run(machine, {"source": "aws.events", "detail": {}})

    # Then each batch was swept by one invocation, and the output has the totals
    assert execution["status"] == "SUCCEEDED", execution
    assert all(digests(ecr, name) == set() for name in names)
    sweeps = [event for event in received if event["step"] == "sweep"]
    assert [event["repositories"] for event in sweeps] == [names[0:2], names[2:4], names[4:]]
    output = json.loads(execution["output"])
    assert output["imagesDeleted"] == 5 and output["batches"] == 3


def test_the_state_machine_fails_when_a_repository_failed(ecr: Any, machine: str) -> None:
    # Given 3 repositories, the last one unreadable
    seed(ecr, 3)
    faults.calls.append(Fault("DescribeImages", "AccessDeniedException", repository="repo-2"))

    # When the state machine runs
    with lambda_in_process():
        execution = _run(machine, {})
    faults.reset()

    # Then the execution fails, after the other repositories were swept
    assert execution["status"] == "FAILED"
    assert digests(ecr, "repo-0") == set() and digests(ecr, "repo-1") == set()


def test_a_dry_run_execution_deletes_nothing(ecr: Any, machine: str) -> None:
    # Given 3 repositories with an expired digest each
    names = seed(ecr, 3)

    # When the state machine runs a dry run
    with lambda_in_process() as received:
        execution = _run(machine, {"dryRun": True})

    # Then every sweep step was a dry run and nothing is deleted
    assert execution["status"] == "SUCCEEDED", execution
    assert all(len(digests(ecr, name)) == 1 for name in names)
    assert {event.get("dryRun") for event in received if event["step"] == "sweep"} == {True}


def test_the_state_machine_reads_large_lists_from_s3_in_a_distributed_map(
    ecr: Any, machine: str, work: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given 5 repositories, and a state too small for their batches
    names = seed(ecr, 5)
    monkeypatch.setattr(stepfunctions, "INLINE_LIMIT_BYTES", 10)

    # When the state machine runs
    with lambda_in_process() as received:
        execution = _run(machine, {})

    # Then the distributed Map read the batches from the bucket and swept each once
    assert execution["status"] == "SUCCEEDED", execution
    assert all(digests(ecr, name) == set() for name in names)
    assert [e["repositories"] for e in received if e["step"] == "sweep"] == [names[0:2], names[2:4], names[4:]]
    assert json.loads(execution["output"])["imagesDeleted"] == 5
