"""One run's clients share one botocore session per profile: building a session costs about as much
CPU as building a client from it (some 130 handlers registered), and a sweep builds a dozen clients
before its first call (bench/PROFILE.md)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import botocore.session
import pytest

from ecr_sweeper.aws import clients
from ecr_sweeper.aws.clients import Clients, Credentials


@pytest.fixture
def sessions_built(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Every botocore session built from now on."""
    built: list[object] = []
    original = botocore.session.Session.__init__

    def counting(self: botocore.session.Session, *args: Any, **kwargs: Any) -> None:
        built.append(self)
        original(self, *args, **kwargs)

    monkeypatch.setattr(botocore.session.Session, "__init__", counting)
    return built


def test_a_runs_clients_share_one_session(sessions_built: list[object]) -> None:
    # Given one run's client factory, and factories made from it for another region and for an
    # assumed role (explicit keys: the session's own credentials are not used for those)
    run = Clients(region="us-east-1", endpoint_url="http://127.0.0.1:1")
    elsewhere = run.in_region("eu-west-1")
    assumed = Clients(
        region="us-east-1",
        endpoint_url="http://127.0.0.1:1",
        sessions=run.sessions,
        credentials=Credentials("AKIA", "secret", "token"),
    )

    # When each builds the clients of a sweep
    made = [factory(service) for factory in (run, elsewhere, assumed) for service in ("ecr", "ecs", "lambda", "sts")]

    # Then one session built them all, each client in its own region and with its own keys
    assert len(sessions_built) == 1
    assert {client.meta.region_name for client in made} == {"us-east-1", "eu-west-1"}
    assert made[-1]._request_signer._credentials.access_key == "AKIA"


def test_another_run_builds_its_own_session(sessions_built: list[object]) -> None:
    # Given two runs (two invocations of the function): a session caches the credentials it
    # resolved, and a warm sandbox must not carry them over
    first, second = Clients(region="us-east-1"), Clients(region="us-east-1")

    # When each builds a client
    first("sts"), second("sts")

    # Then each run had a session of its own
    assert len(sessions_built) == 2


def test_clients_built_from_many_threads_at_once_all_work(sessions_built: list[object]) -> None:
    # Given one run's factory, and sixteen threads that each build the clients of an in-use source at once
    # (a botocore session is not thread-safe while it builds a client: boto/boto3#801)
    run = Clients(region="us-east-1", endpoint_url="http://127.0.0.1:1")
    services = ["ecs", "lambda", "batch", "apprunner", "sagemaker", "eks", "inspector2", "sts"] * 2

    # When they do
    with ThreadPoolExecutor(16) as pool:
        made = list(pool.map(run, services))

    # Then every client was built, for its own service, from the one session
    assert [client.meta.service_model.service_name for client in made] == services
    assert len(sessions_built) == 1


def test_the_plain_factory_still_builds_a_session_per_client(sessions_built: list[object]) -> None:
    # Given the module's factory called without a run's sessions (the command line's preflight, tests)
    # When it builds two clients
    clients.client("sts", "us-east-1"), clients.client("sts", "us-east-1")

    # Then each had a session of its own, as before
    assert len(sessions_built) == 2
