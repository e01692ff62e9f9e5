"""Given an emulated registry, when the real lambda_handler runs, then look at the registry,
the log records and the metrics it emitted."""

from __future__ import annotations

import sys
import threading
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.ecr.responses import ECRResponse
from moto.server import ThreadedMotoServer

from emulator.identity import OWN, sweeper_credentials
from emulator.server import free_port
from tests.output import Invocation, invoke_captured


@dataclass
class LambdaContext:
    function_name: str = "ecr-sweeper"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:ecr-sweeper"
    aws_request_id: str = "test-request"
    remaining_ms: int = 900_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


# IAM actions whose name is not the operation's (Service Authorization Reference, Amazon S3: HeadObject
# is authorized as s3:GetObject, ListObjectsV2 as s3:ListBucket).
_AUTHORIZED_AS = {"s3:HeadObject": "s3:GetObject", "s3:ListObjectsV2": "s3:ListBucket"}


def iam_action(client: Any, operation: str) -> str:
    action = f"{client.meta.service_model.signing_name}:{operation}"
    return _AUTHORIZED_AS.get(action, action)


def _caller() -> str:
    """Who makes a call: the command line when its face is on the stack, else the function (calls
    from a worker thread are the function's: the stricter of the two)."""
    frame = sys._getframe(2)
    while frame is not None:
        if str(frame.f_globals.get("__name__")).startswith("ecr_sweeper.faces.cli"):
            return "command line"
        frame = frame.f_back  # type: ignore[assignment]
    return "function"


@pytest.fixture(autouse=True)
def calls_in_the_inventory(monkeypatch: pytest.MonkeyPatch) -> Iterator[set[tuple[str, str]]]:
    """Every AWS call the code makes, in every integration test, is one that ecr_sweeper.permissions
    lists for whoever made it: the function (its role is granted from that list, and a template test
    checks the grants against the Service Authorization Reference), a consumer account's reader role
    (a client with assumed credentials), or the command line. A call missing there would be denied in
    a real account, where the emulator lets it pass."""
    from ecr_sweeper.aws import clients

    made: set[tuple[str, str]] = set()
    make = clients.client

    def recording(service: str, *args: Any, **kwargs: Any) -> Any:
        client = make(service, *args, **kwargs)
        principal = "reader role" if kwargs.get("credentials") is not None else None

        def record(model: Any, **_: Any) -> None:
            made.add((principal or _caller(), iam_action(client, model.name)))

        client.meta.events.register("before-call", record)
        return client

    monkeypatch.setattr(clients, "client", recording)
    yield made
    missing = unlisted(made)
    assert not missing, f"{missing}: list them in lambda/ecr_sweeper/permissions.py (and grant them in infra/)"


def unlisted(made: set[tuple[str, str]]) -> list[str]:
    """The calls, of (who, IAM action), that ecr_sweeper.permissions does not list for whoever made them."""
    from ecr_sweeper.core import permissions

    function = permissions.function_actions(protect_in_use=True, consumers=True, organization=True, stepfunctions=True)
    free = set(permissions.NO_PERMISSION_NEEDED)
    allowed = {
        "function": function | free,
        "reader role": permissions.reader_actions() | free,
        "command line": function | set(permissions.COMMAND_LINE_ONLY) | free,
    }
    return sorted(f"{who} calls {action}" for who, action in made if action not in allowed[who])


@pytest.fixture
def local_endpoint() -> Iterator[str]:
    """The corrected emulator served by ThreadedMotoServer on 127.0.0.1, emptied afterwards."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    try:
        yield endpoint
    finally:
        # The server serves moto's process-wide backends: leave nothing behind for later tests.
        urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"), timeout=10)
        server.stop()


@pytest.fixture
def ecr() -> Iterator[Any]:
    """The test's own ECR client, while the handler runs as the deployed function does."""
    with mock_aws(), sweeper_credentials():
        yield boto3.client("ecr", **OWN)


_DEFAULT = object()
Invoke = Callable[..., Invocation]


@pytest.fixture
def invoke(monkeypatch: pytest.MonkeyPatch) -> Invoke:
    def run(event: Any = None, env: dict[str, str] | None = None, context: Any = _DEFAULT) -> Invocation:
        for name, value in (env or {}).items():
            monkeypatch.setenv(name, value)
        return invoke_captured(event, LambdaContext() if context is _DEFAULT else context)

    return run


@pytest.fixture
def ecr_calls(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """ECR calls served by the emulator, by action name, counted until the test ends.

    Counted at the emulator's dispatch, not on the handler's client, so that every call the
    handler's own clients make is seen. Counting starts at set-up: a test that seeds through the
    API clears the dict before the sweep it measures.
    """
    counts: dict[str, int] = {}
    # The sweep calls ECR from a pool of worker threads; an increment must not be lost.
    lock = threading.Lock()
    original = ECRResponse.call_action

    def counting(self: ECRResponse) -> Any:
        action = self._get_action()
        with lock:
            counts[action] = counts.get(action, 0) + 1
        return original(self)

    monkeypatch.setattr(ECRResponse, "call_action", counting)
    return counts


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Every API call the handler makes, as `service:Operation`, counted on its own clients."""
    from ecr_sweeper.aws import clients

    counted: Counter[str] = Counter()
    make = clients.client

    def counting_client(service: str, *args: Any, **kwargs: Any) -> Any:
        made = make(service, *args, **kwargs)
        made.meta.events.register("before-call", lambda model, **_: counted.update([f"{service}:{model.name}"]))
        return made

    monkeypatch.setattr(clients, "client", counting_client)
    return counted


Refuse = Callable[[str, str, str], None]


@pytest.fixture
def refuse(monkeypatch: pytest.MonkeyPatch) -> Refuse:
    """`refuse("s3", "PutObject", "AccessDenied")`: from now on, the handler's clients get that error
    for that operation, as from a policy that denies it (the emulator evaluates no IAM)."""
    from ecr_sweeper.aws import clients

    refused: dict[tuple[str, str], str] = {}
    make = clients.client

    def refusing_client(service: str, *args: Any, **kwargs: Any) -> Any:
        made = make(service, *args, **kwargs)

        def deny(model: Any, **_: Any) -> None:
            code = refused.get((service, model.name))
            if code is not None:
                raise ClientError({"Error": {"Code": code, "Message": f"refused {model.name}"}}, model.name)

        made.meta.events.register("before-call", deny)
        return made

    monkeypatch.setattr(clients, "client", refusing_client)
    return lambda service, operation, code: refused.__setitem__((service, operation), code)
