"""Given a registry where everything would expire, when the handler runs with an invalid setting or
event, then it refuses before its first AWS call, naming the bad value; and when it runs with a
valid but unusual event or context (the scheduled event, no context at all), then it sweeps."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from typing import Any
from unittest.mock import MagicMock

import pytest

from emulator.seed import create_repository
from infra.app import ROOT
from tests.integration.conftest import Invoke
from tests.integration.images import digests, untagged
from tests.output import Invocation


def assert_refused_before_any_call(
    ecr: Any, ecr_calls: dict[str, int], run_handler: Callable[[], Invocation], named: str
) -> None:
    # Given a repository where everything would expire
    create_repository(ecr, "app", "0")
    keep = untagged(ecr, "app", "x", 5)
    ecr_calls.clear()

    # When the handler runs with bad input
    run = run_handler()

    # Then it raises naming the bad value, made no AWS call, and deleted nothing
    assert run.error is not None and named in str(run.error)
    assert ecr_calls == {}
    assert digests(ecr, "app") == {keep}
    assert run.records(record_type="config_error")[0]["level"] == "ERROR"


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"DRY_RUN": "yes"}, "DRY_RUN='yes'"),
        ({"DEFAULT_RETENTION_DAYS": "seven"}, "DEFAULT_RETENTION_DAYS='seven'"),
        ({"DEFAULT_RETENTION_DAYS": "4000"}, "DEFAULT_RETENTION_DAYS='4000'"),
        ({"RETENTION_TAG_KEY": ""}, "RETENTION_TAG_KEY=''"),
        ({"POWERTOOLS_LOG_LEVEL": "LOUD"}, "POWERTOOLS_LOG_LEVEL='LOUD'"),
    ],
)
def test_invalid_settings_raise_before_any_aws_call(
    ecr: Any, ecr_calls: dict[str, int], invoke: Invoke, env: dict[str, str], named: str
) -> None:
    # Given a repository where everything would expire, and one invalid setting in the environment
    # When the handler runs, then it refuses before any AWS call, naming the setting, and deletes nothing
    assert_refused_before_any_call(ecr, ecr_calls, lambda: invoke(env=env), named)


def test_invalid_regions_are_refused_before_any_call(ecr: Any, ecr_calls: dict[str, int], invoke: Invoke) -> None:
    # Given a repository where everything would expire, and a region list with a name that is not a region
    # When the handler runs, then it refuses before any AWS call, naming the list, and deletes nothing
    assert_refused_before_any_call(
        ecr, ecr_calls, lambda: invoke(env={"REGIONS": "us-east-1,Mars"}), "REGIONS='us-east-1,Mars'"
    )


@pytest.mark.parametrize(
    ("event", "named"),
    [
        ({"dryrun": True}, "'dryrun'"),
        ({"dryRun": "true"}, "dryRun='true'"),
        ({"repositories": "app"}, "repositories='app'"),
        ({"repositories": []}, "repositories=[]"),
        ({"repositories": ["Bad Name"]}, "'Bad Name'"),
        ({"asOf": "2030-01-01T00:00:00Z"}, "only allowed in a dry run"),
        ({"asOf": "2030-01-01T00:00:00Z", "dryRun": False}, "only allowed in a dry run"),
        ({"asOf": "next friday", "dryRun": True}, "asOf='next friday'"),
        ({"asOf": 1767225600, "dryRun": True}, "asOf=1767225600"),
        (["app"], "['app']"),
    ],
)
def test_invalid_events_are_rejected_before_anything_is_deleted(
    ecr: Any, ecr_calls: dict[str, int], invoke: Invoke, event: Any, named: str
) -> None:
    # Given a repository where everything would expire, and an invalid event
    # When the handler runs with it, then it refuses before any AWS call, naming what is wrong, and deletes nothing
    assert_refused_before_any_call(ecr, ecr_calls, lambda: invoke(event=event), named)


def test_an_invalid_log_level_does_not_break_the_import_only_the_invocation() -> None:
    # Given a fresh interpreter whose environment has an unknown log level, and no AWS at all: the
    # handler validates its settings before any AWS call
    probe = "\n".join(
        (
            "import ecr_sweeper.faces.function as h",
            "print(h.lambda_handler.__name__)",
            "try:",
            "    h.lambda_handler({}, None)",
            "except Exception as error:",
            "    print(type(error).__name__, error)",
        )
    )

    # When it imports the handler and invokes it
    result = subprocess.run(
        [sys.executable, "-c", probe],
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT / "lambda"), "POWERTOOLS_LOG_LEVEL": "LOUD"},
        capture_output=True,
        text=True,
        check=False,
    )

    # Then the import succeeds, and the invocation raises a ConfigError naming the bad value
    assert result.returncode == 0, result.stderr
    imported, *printed = [line for line in result.stdout.splitlines() if not line.startswith("{")]
    assert imported == "lambda_handler"
    [raised] = printed
    assert raised.startswith("ConfigError ") and "POWERTOOLS_LOG_LEVEL='LOUD'" in raised


def test_the_scheduled_eventbridge_event_is_accepted_as_it_is(ecr: Any, invoke: Invoke) -> None:
    # Given an expired untagged digest
    create_repository(ecr, "app", "1")
    untagged(ecr, "app", "x", 5)
    event = {
        "version": "0",
        "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": "2026-11-27T03:00:00Z",
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/ecr-sweeper-nightly"],
        "detail": {},
    }

    # When the schedule's own event invokes the handler
    run = invoke(event=event)

    # Then it sweeps
    assert run.error is None
    assert digests(ecr, "app") == set()


@pytest.mark.parametrize("context", [None, object(), "context"])
def test_any_context_object_is_accepted(ecr: Any, invoke: Invoke, context: Any) -> None:
    # Given an expired untagged digest
    create_repository(ecr, "app", "1")
    untagged(ecr, "app", "x", 5)

    # When the handler is invoked with no context, a bare object or a mock
    run = invoke(context=MagicMock() if context == "context" else context)

    # Then it sweeps
    assert run.error is None
    assert digests(ecr, "app") == set()
