"""How fast the in-use scan may call each API of one account and region: the rates AWS publishes,
and a token bucket that holds callers to them.

Each service throttles per account and region, in buckets that everything else the account runs
(deploys, consoles, other tools) shares, so the scan paces itself at or below the published rate
rather than racing it and leaning on retries; botocore's retries stay the backstop.

Published rates (sustained per second, burst):
- ECS, "Request throttling for the Amazon ECS API" (ECS developer guide): task definition reads
  (DescribeTaskDefinition, ListTaskDefinitions) 20/50; service reads (DescribeServices, ListServices)
  20/100; cluster resource reads (DescribeTasks, ListTasks) 20/100; service revisions and deployments
  (DescribeServiceRevisions, ListServiceDeployments, DescribeServiceDeployments) 20/50; cluster reads
  (DescribeClusters, ListClusters) 20/50.
- Lambda, "Lambda quotas" (Lambda developer guide): GetFunction 100 per second; every other
  control-plane call, ListFunctions included, 15 per second combined. No burst is published: the
  bucket holds one second's worth.
Assumed, where AWS publishes no rate (AWS Batch, App Runner, SageMaker, EKS, Amazon Inspector, STS,
Organizations): 20 per second with a burst of 50, per service, account and region: the lowest read
rate ECS publishes (task definition reads), and below the one EC2 publishes for its non-mutating
actions ("Request throttling for the Amazon EC2 API": a bucket of 100, refilled at 20 per second).
The scan makes few calls to these (pages of listings, one describe per App Runner service,
SageMaker model or EKS cluster), and botocore's retries stay the backstop if one throttles lower.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Rate:
    """A token bucket's refill per second and its capacity; `published`: where the figure comes from."""

    per_second: float
    burst: int
    published: bool = True


ECS_TASK_DEFINITION_READS = "ecs task definition reads"
ECS_SERVICE_READS = "ecs service reads"
ECS_CLUSTER_RESOURCE_READS = "ecs cluster resource reads"
ECS_SERVICE_REVISIONS = "ecs service revisions and deployments"
ECS_CLUSTER_READS = "ecs cluster reads"
LAMBDA_GET_FUNCTION = "lambda GetFunction"
LAMBDA_CONTROL_PLANE = "lambda control plane"
ASSUMED = Rate(20, 50, published=False)

RATES: dict[str, Rate] = {
    ECS_TASK_DEFINITION_READS: Rate(20, 50),
    ECS_SERVICE_READS: Rate(20, 100),
    ECS_CLUSTER_RESOURCE_READS: Rate(20, 100),
    ECS_SERVICE_REVISIONS: Rate(20, 50),
    ECS_CLUSTER_READS: Rate(20, 50),
    LAMBDA_GET_FUNCTION: Rate(100, 100),
    LAMBDA_CONTROL_PLANE: Rate(15, 15),
}
# (IAM service prefix, operation) -> the bucket it draws from; the other operations of ECS and
# Lambda, and every operation of another service, draw from that service's own bucket.
CATEGORIES: dict[tuple[str, str], str] = {
    ("ecs", "DescribeTaskDefinition"): ECS_TASK_DEFINITION_READS,
    ("ecs", "ListTaskDefinitions"): ECS_TASK_DEFINITION_READS,
    ("ecs", "DescribeServices"): ECS_SERVICE_READS,
    ("ecs", "ListServices"): ECS_SERVICE_READS,
    ("ecs", "DescribeTasks"): ECS_CLUSTER_RESOURCE_READS,
    ("ecs", "ListTasks"): ECS_CLUSTER_RESOURCE_READS,
    ("ecs", "DescribeServiceRevisions"): ECS_SERVICE_REVISIONS,
    ("ecs", "ListServiceDeployments"): ECS_SERVICE_REVISIONS,
    ("ecs", "DescribeServiceDeployments"): ECS_SERVICE_REVISIONS,
    ("ecs", "ListClusters"): ECS_CLUSTER_READS,
    ("ecs", "DescribeClusters"): ECS_CLUSTER_READS,
    ("lambda", "GetFunction"): LAMBDA_GET_FUNCTION,
}


def category(service: str, operation: str) -> str:
    """The bucket of `service:operation` (IAM service prefix, operation in PascalCase)."""
    found = CATEGORIES.get((service, operation))
    if found is not None:
        return found
    return LAMBDA_CONTROL_PLANE if service == "lambda" else service


def rate(name: str) -> Rate:
    return RATES.get(name, ASSUMED)


@dataclass
class TokenBucket:
    """Callers take one token per call; tokens come back at `rate.per_second`, up to `rate.burst`.
    A caller that finds none waits (outside the lock) until one is due. Starts full."""

    rate: Rate
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    _tokens: float = field(init=False)
    _at: float = field(init=False)
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._tokens = float(self.rate.burst)
        self._at = self.clock()

    def take(self) -> float:
        """Take a token, waiting for it if need be; returns the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                now = self.clock()
                self._tokens = min(float(self.rate.burst), self._tokens + (now - self._at) * self.rate.per_second)
                self._at = now
                # A token that is due to within rounding is due: a wait of a few ulps could not move
                # the clock, and the caller would wait for ever.
                if self._tokens >= 1 - 1e-9:
                    self._tokens = max(0.0, self._tokens - 1)
                    return waited
                wait = (1 - self._tokens) / self.rate.per_second
            self.sleep(wait)
            waited += wait


class Pacer:
    """The buckets of one scan: one per account, region and category, made as they are first used."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep):
        self._clock, self._sleep = clock, sleep
        self._buckets: dict[tuple[str, str], TokenBucket] = {}
        self._lock = threading.Lock()

    def take(self, account: str, service: str, operation: str) -> float:
        """Wait for a token of `account`'s bucket for `service:operation`; the seconds waited."""
        key = (account, category(service, operation))
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = TokenBucket(rate(key[1]), self._clock, self._sleep)
        return bucket.take()


class Unpaced(Pacer):
    """No pacing at all (a test that counts calls, not time)."""

    def take(self, account: str, service: str, operation: str) -> float:
        return 0.0
