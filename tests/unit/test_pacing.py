"""The in-use scan paces its calls by the rates AWS publishes, one token bucket per account, region
and category ("Request throttling for the Amazon ECS API"; "Lambda quotas")."""

from __future__ import annotations

import threading

import pytest

from ecr_sweeper.core.pacing import (
    ASSUMED,
    ECS_CLUSTER_RESOURCE_READS,
    ECS_SERVICE_READS,
    ECS_SERVICE_REVISIONS,
    ECS_TASK_DEFINITION_READS,
    LAMBDA_CONTROL_PLANE,
    LAMBDA_GET_FUNCTION,
    RATES,
    Pacer,
    Rate,
    TokenBucket,
    category,
    rate,
)


class Clock:
    """A clock that moves only when someone sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.now += seconds


def test_the_published_rates() -> None:
    # Given the rates of "Request throttling for the Amazon ECS API" and the "Lambda quotas" page
    # Then each category has its sustained rate and its burst
    assert RATES[ECS_TASK_DEFINITION_READS] == Rate(20, 50)
    assert RATES[ECS_SERVICE_READS] == Rate(20, 100)
    assert RATES[ECS_CLUSTER_RESOURCE_READS] == Rate(20, 100)
    assert RATES[ECS_SERVICE_REVISIONS] == Rate(20, 50)
    assert RATES[LAMBDA_GET_FUNCTION].per_second == 100
    assert RATES[LAMBDA_CONTROL_PLANE].per_second == 15
    # and a service that publishes none gets the assumed rate, said to be assumed: no faster than
    # the slowest read rate ECS publishes (task definition reads, 20/s with a burst of 50), and no
    # larger a burst than EC2's non-mutating bucket ("Request throttling for the Amazon EC2 API":
    # a bucket of 100 tokens refilled at 20 per second)
    assert rate("batch") == ASSUMED and ASSUMED.published is False
    assert (ASSUMED.per_second, ASSUMED.burst) == (20, 50)


@pytest.mark.parametrize(
    ("service", "operation", "bucket"),
    [
        ("ecs", "DescribeTaskDefinition", ECS_TASK_DEFINITION_READS),
        ("ecs", "ListTaskDefinitions", ECS_TASK_DEFINITION_READS),
        ("ecs", "DescribeServices", ECS_SERVICE_READS),
        ("ecs", "ListServices", ECS_SERVICE_READS),
        ("ecs", "DescribeTasks", ECS_CLUSTER_RESOURCE_READS),
        ("ecs", "ListTasks", ECS_CLUSTER_RESOURCE_READS),
        ("ecs", "DescribeServiceRevisions", ECS_SERVICE_REVISIONS),
        ("lambda", "GetFunction", LAMBDA_GET_FUNCTION),
        # every other Lambda control-plane call shares one bucket of 15 per second
        ("lambda", "ListFunctions", LAMBDA_CONTROL_PLANE),
        ("sagemaker", "DescribeModel", "sagemaker"),
    ],
)
def test_each_call_draws_from_its_category(service: str, operation: str, bucket: str) -> None:
    # Given a call, then its bucket is the category AWS throttles it in
    assert category(service, operation) == bucket


def test_a_bucket_lets_its_burst_through_then_its_sustained_rate() -> None:
    # Given a bucket of 20 a second with a burst of 50, on a clock that moves only while callers wait
    clock = Clock()
    bucket = TokenBucket(Rate(20, 50), clock, clock.sleep)

    # When 150 calls take a token one after the other
    waited = [bucket.take() for _ in range(150)]

    # Then the first 50 went at once, and the other 100 took 100 / 20 = 5 seconds
    assert sum(waited[:50]) == 0
    assert clock.now == pytest.approx(5.0)


def test_buckets_are_per_account_and_category() -> None:
    # Given a pacer on a clock that moves only while callers wait
    clock = Clock()
    pacer = Pacer(clock, clock.sleep)

    # When two accounts each make 60 DescribeTaskDefinition calls (burst 50, then 20 a second)
    for account in ("210987654321", "310987654321"):
        for _ in range(60):
            pacer.take(account, "ecs", "DescribeTaskDefinition")
    # Then each waited for its own 10 calls past the burst: 2 x 10 / 20 = 1 second in all
    assert clock.now == pytest.approx(1.0)

    # And a call of another category of the same account does not wait behind them
    before = clock.now
    pacer.take("210987654321", "ecs", "DescribeServices")
    assert clock.now == before
