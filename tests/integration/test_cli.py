"""Given a repository with an expired digest, a young one and a tagged index over an old child, when
the command-line tool plans, sweeps or explains, then it shows or deletes what the function would,
and its exit code says how it went (0 done, 1 a repository failed, 2 bad usage)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from typing import Any

import pytest

from ecr_sweeper.cli import main
from emulator.ecr import Fault, faults
from emulator.seed import create_repository, push, push_index
from infra.app import ROOT
from tests.integration.images import NOW, ago, digests


@pytest.fixture
def registry(ecr: Any) -> dict[str, str]:
    create_repository(ecr, "team/api", "3")
    child = push(ecr, "team/api", "child", pushed_at=ago(30))
    return {
        "old": push(ecr, "team/api", "old", pushed_at=ago(10)),
        "young": push(ecr, "team/api", "young", pushed_at=ago(1)),
        "child": child,
        "index": push_index(ecr, "team/api", [child], tag="v1", pushed_at=ago(30)),
    }


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_plan_prints_a_row_per_repository_and_totals(ecr: Any, registry: dict[str, str], capsys: Any) -> None:
    # Given the registry

    # When the tool plans
    code, out, _ = cli(capsys, "plan")

    # Then one row says what happens in the repository, then the totals; nothing is deleted
    assert code == 0
    [row] = [line for line in out.splitlines() if line.startswith("us-east-1")]
    assert row.split()[:8] == ["us-east-1", "team/api", "3d", "swept", "4", "3", "1", "index"]
    # At 80 columns the headers of several words take two lines
    header = "\n".join(out.splitlines()[:2])
    assert "kept by" in header and "reason" in header and "to" in header and "delete" in header
    assert "Total to delete: 1 digest(s), 32.0 MB\n" in out and "(USD 0.10 per GB-month)" in out
    assert registry["old"][7:19] not in out, "digests only with --details"
    assert len(digests(ecr, "team/api")) == 4, "plan is always a dry run"


def test_plan_details_prints_every_digest_with_its_reason(ecr: Any, registry: dict[str, str], capsys: Any) -> None:
    # Given the registry

    # When the tool plans with --details
    code, out, _ = cli(capsys, "plan", "--details")

    # Then each untagged digest has a row: its short digest, verdict and reason
    assert code == 0
    rows = {line.split()[0]: line for line in out.splitlines() if line[:12] in {d[7:19] for d in registry.values()}}
    assert "would_delete" in rows[registry["old"][7:19]]
    assert f"child of kept index {registry['index'][7:19]}" in rows[registry["child"][7:19]]
    assert registry["index"][7:19] not in rows, "a tagged index is never judged"


def test_plan_json_records_carry_the_lambda_log_keys(ecr: Any, registry: dict[str, str], capsys: Any) -> None:
    # Given the registry

    # When the tool plans with JSON output
    code, out, _ = cli(capsys, "plan", "--output", "json", "--region", "us-east-1")

    # Then each untagged digest has a verdict record with the function's log keys
    document = json.loads(out)
    verdicts = [r for r in document["records"] if r.get("record_type") == "verdict"]
    assert {r["digest"]: r["action"] for r in verdicts} == {
        registry["old"]: "would_delete",
        registry["young"]: "kept",
        registry["child"]: "kept",
    }
    for record in verdicts:
        assert {"repository", "digest", "action", "reason", "pushed_at", "size_bytes", "region"} <= set(record)
    assert document["totals"]["digests"] == 1 and document["summaries"][0]["dryRun"] is True
    assert code == 0


def test_plan_as_of_forecasts(ecr: Any, registry: dict[str, str], capsys: Any) -> None:
    # Given the registry

    # When the tool plans as of 5 days from now
    _, out, _ = cli(capsys, "plan", "--output", "json", "--as-of", (NOW + timedelta(days=5)).isoformat())

    # Then the young digest has expired by then too
    assert json.loads(out)["totals"]["digests"] == 2


def test_sweep_with_yes_deletes_what_the_plan_showed(ecr: Any, registry: dict[str, str], capsys: Any) -> None:
    # Given the registry

    # When the tool sweeps without asking
    code, out, _ = cli(capsys, "sweep", "--yes")

    # Then the expired digest is deleted, and only it
    assert code == 0
    assert registry["old"] not in digests(ecr, "team/api")
    assert digests(ecr, "team/api") == {registry["young"], registry["child"], registry["index"]}
    assert "deleted" in out


def test_sweep_without_yes_and_without_a_terminal_deletes_nothing(
    ecr: Any, registry: dict[str, str], capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the registry, and no terminal to ask on
    monkeypatch.setattr(sys.stdin, "isatty", lambda: False)

    # When the tool sweeps without --yes
    code, _, err = cli(capsys, "sweep")

    # Then it refuses, says how to proceed, and deletes nothing
    assert code == 2 and "pass --yes" in err
    assert len(digests(ecr, "team/api")) == 4


@pytest.mark.parametrize(("answer", "deleted"), [("y", True), ("n", False)])
def test_sweep_asks_before_deleting(
    ecr: Any, registry: dict[str, str], capsys: Any, monkeypatch: pytest.MonkeyPatch, answer: str, deleted: bool
) -> None:
    # Given the registry, and a terminal where the operator answers y or n
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda *_: answer)

    # When the tool sweeps without --yes
    code, _, _ = cli(capsys, "sweep")

    # Then it deletes only on yes
    assert code == 0
    assert (registry["old"] not in digests(ecr, "team/api")) is deleted


def test_explain_prints_every_rule_and_the_verdict(ecr: Any, registry: dict[str, str], capsys: Any) -> None:
    # Given the registry

    # When the tool explains the old child of the tagged index
    code, out, _ = cli(capsys, "explain", "team/api", registry["child"])

    # Then it prints the verdict and whether each rule applies
    assert code == 0
    assert f"verdict: kept - child of kept index {registry['index']}" in out
    assert f"child of an index: applies - {registry['index']} (kept: tagged v1)" in out
    for rule in ("tagged: does not apply", "retention: applies - 3d", "recent pull: does not apply",
                 "in use: does not apply", "archived: does not apply",
                 "referrer of an image: does not apply"):  # fmt: skip
        assert rule in out


def test_explain_json(ecr: Any, registry: dict[str, str], capsys: Any) -> None:
    # Given the registry

    # When the tool explains the expired digest as JSON
    code, out, _ = cli(capsys, "explain", "team/api", registry["old"], "--output", "json")

    # Then the document has the verdict and each rule
    document = json.loads(out)
    assert document["verdict"]["action"] == "would_delete"
    assert {rule["rule"]: rule["applies"] for rule in document["rules"]}["child of an index"] is False
    assert code == 0


def test_a_failed_repository_exits_1(ecr: Any, registry: dict[str, str], capsys: Any) -> None:
    # Given the registry, its images unreadable
    faults.calls.append(Fault("DescribeImages", "AccessDeniedException", repository="team/api"))

    # When the tool plans
    code, out, _ = cli(capsys, "plan")
    faults.reset()

    # Then it exits 1 and shows ECR's error
    assert code == 1 and "AccessDeniedException" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--profile", "no-such-profile", "plan"), "(no-such-profile) could not be found: list yours with"),
        (("plan", "--region", "mars-1"), "'mars-1' is not an ECR region"),
        (("plan", "--as-of", "someday"), "asOf='someday'"),
    ],
)
def test_bad_usage_exits_2_with_one_line(ecr: Any, capsys: Any, args: tuple[str, ...], message: str) -> None:
    # Given an unknown profile, an unknown region or an unreadable date on the command line

    # When the tool runs
    code, _, err = cli(capsys, *args)

    # Then it exits 2 with one line naming the problem, no traceback
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_debug_shows_the_traceback(ecr: Any, capsys: Any) -> None:
    # Given an unknown profile and --debug

    # When the tool runs
    code, _, err = cli(capsys, "--debug", "--profile", "no-such-profile", "plan")

    # Then it exits 2 with the traceback
    assert code == 2 and "Traceback" in err


def test_invalid_settings_exit_2(ecr: Any, capsys: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given an invalid default retention in the environment
    monkeypatch.setenv("DEFAULT_RETENTION_DAYS", "soon")

    # When the tool plans
    code, _, err = cli(capsys, "plan")

    # Then it exits 2 naming the variable and its value
    assert code == 2 and "DEFAULT_RETENTION_DAYS='soon'" in err


def test_python_dash_m_runs_the_same_tool() -> None:
    # Given a fresh interpreter that has only the lambda/ directory on its path

    # When it runs the package as a module
    result = subprocess.run(
        [sys.executable, "-m", "ecr_sweeper", "--help"],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT / "lambda")},
        capture_output=True,
        text=True,
        check=False,
    )

    # Then it is the same tool, with its subcommands
    assert result.returncode == 0 and "plan" in result.stdout and "explain" in result.stdout
