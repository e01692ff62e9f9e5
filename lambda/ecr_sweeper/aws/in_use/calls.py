"""The call wrapper of every source of the in-use scan, and its fix-it texts: each failure becomes
an InUseScanFailed that names the call (and the account, for a consumer account), the cause and the fix."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import botocore.session
from botocore.exceptions import BotoCoreError, ClientError, ConnectTimeoutError, EndpointConnectionError

from ecr_sweeper.aws import clients as aws_clients
from ecr_sweeper.aws.in_use.fanout import DESCRIBES_AT_ONCE, Stopped, at_once
from ecr_sweeper.aws.in_use.values import (
    Account,
    Calls,
    ImmutableFacts,
    InUse,
    InUseScanFailed,
    ScanOptions,
    ScanOutOfTime,
)
from ecr_sweeper.core.deadline import Deadline
from ecr_sweeper.core.errors import describe_error, error_code
from ecr_sweeper.core.model import Protection, Use
from ecr_sweeper.core.pacing import Pacer

if TYPE_CHECKING:
    from botocore.client import BaseClient

ACCESS_DENIED = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"})
THROTTLED = frozenset({"ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded"})
# organizations:ListAccounts answers only in the management account or a delegated administrator
# account (Organizations API reference, ListAccounts); elsewhere, or outside an organization, these.
NOT_ORGANIZATION_ADMIN = ACCESS_DENIED | {"AWSOrganizationsNotInUseException"}


# The client of one source's service (the stubs' ECSClient, LambdaClient, ...).
ClientT = TypeVar("ClientT", bound="BaseClient")
T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class ScanRun:
    """What every part of one scan shares: its options, its call count, the buckets it paces its
    calls by, the event that stops every part when one fails, and the invocation's deadline."""

    options: ScanOptions = ScanOptions()
    calls: Calls = field(default_factory=Calls)
    pacer: Pacer = field(default_factory=Pacer)
    stop: threading.Event = field(default_factory=threading.Event)
    deadline: Deadline | None = None
    # One part after the other, in order: for a test whose stubbed client answers its calls in the
    # order they were queued (botocore's Stubber).
    serial: bool = False


class Source(Generic[ClientT]):
    """One service's client in one account, with every failure turned into a InUseScanFailed that
    names the call (and the account, for a consumer account), the cause and the fix; each call
    paced by the account's bucket for it, and counted. What the source finds goes to `in_use`, its
    own part of the picture, written by the source's own thread only."""

    def __init__(
        self,
        service: str,
        client: ClientT,
        in_use: InUse,
        connect: Callable[..., Any] | None = None,
        run: ScanRun | None = None,
        account: Account | None = None,
        facts: ImmutableFacts | None = None,
    ) -> None:
        self.service = service
        self.client = client
        self.in_use = in_use
        self.connect = connect
        self.run = run if run is not None else ScanRun()
        self.facts = facts if facts is not None else ImmutableFacts()
        self.account = account
        # Every call the client makes, a listing's pages included, waits for its token and is
        # counted; first, so that a test's stubbed answer (botocore's Stubber) is paced and counted too.
        client.meta.events.register_first("before-call", self._before_call)

    @property
    def options(self) -> ScanOptions:
        return self.run.options

    def use(self, family: Protection, who: str) -> Use:
        return Use(family, self.who(who))

    def who(self, name: str) -> str:
        """A workload of this account as reasons name it; one of a consumer account names the account first."""
        return name if self.account is None else f"{self.account.id} {name}"

    def named(self, source: str) -> str:
        """What a failure calls this source ("ecs ListClusters", "account 210987654321 ecs ListClusters")."""
        return source if self.account is None else f"account {self.account.id} {source}"

    def call(self, operation: str, *, gone: Iterable[str] = (), **kwargs: Any) -> dict[str, Any] | None:
        """One call, once a token of its bucket is due; None when it answers with one of the `gone`
        error codes (deleted meanwhile). Before each describe call, the scan stops if the
        invocation's time is running out."""
        deadline = self.run.deadline
        if deadline is not None and not operation.startswith("list_") and not deadline.can_go_on_scanning():
            raise ScanOutOfTime(deadline.scan_margin_s, self.run.calls.count)
        try:
            response: dict[str, Any] = getattr(self.client, operation)(**kwargs)
        except (ClientError, BotoCoreError, OSError) as error:
            if error_code(error) in gone:
                return None
            raise self._failed(operation, error) from error
        failures = response.get("failures")
        if failures:
            raise InUseScanFailed(
                self._name(operation),
                f"the response lists failures {failures}",
                "the next run reads it again; if it persists, look up the failed resources in the "
                f"{self.service} console" + way_out(self.account),
            )
        return response

    def pages(self, operation: str, key: str, **kwargs: Any) -> Iterator[Any]:
        """Every item of every page, through boto3's paginator, each page paced and counted."""
        pages = iter(self.client.get_paginator(operation).paginate(**kwargs))
        while True:
            try:
                page = next(pages, None)
            except (ClientError, BotoCoreError, OSError) as error:
                raise self._failed(operation, error) from error
            if page is None:
                return
            yield from page.get(key, [])

    def each(self, items: Sequence[T], work: Callable[[T], R]) -> list[R]:
        """`work(item)` for every item, several at once (each call still paced), in the items' order."""
        return at_once(items, work, 1 if self.run.serial else DESCRIBES_AT_ONCE, self.run.stop, self.service)

    def _before_call(self, model: Any, **_: Any) -> None:
        if self.run.stop.is_set():
            raise Stopped
        prefix = self.client.meta.service_model.signing_name
        self.run.pacer.take(self.account.id if self.account else "", prefix, model.name)
        self.run.calls.add()

    def _name(self, operation: str) -> str:
        return self.named(f"{self.service} {pascal(operation)}")

    def _failed(self, operation: str, error: BaseException) -> BaseException:
        if isinstance(error, EndpointConnectionError | ConnectTimeoutError) and not offered(self.client):
            return NotOffered(self.service)
        return InUseScanFailed(
            self._name(operation),
            describe_error(error),
            fix(self.client, self.service, operation, error, self.account),
        )


class NotOffered(Exception):
    """The service does not exist in the region: nothing there can use a digest."""

    def __init__(self, service: str) -> None:
        self.service = service


# (service, partition) -> the regions the SDK's endpoint data lists it in.
_REGIONS: dict[tuple[str, str], frozenset[str]] = {}


def offered(client: BaseClient, endpoint_data: Callable[[], botocore.session.Session] | None = None) -> bool:
    """Whether the SDK's endpoint data lists the service in the client's region. Used only to tell
    a service that does not exist in a region from one that cannot be reached."""
    meta = client.meta
    key = (meta.service_model.service_name, meta.partition)
    if key not in _REGIONS:
        _REGIONS[key] = frozenset((endpoint_data or aws_clients.endpoint_data)().get_available_regions(*key))
    return meta.region_name in _REGIONS[key]


def fix(client: BaseClient, service: str, operation: str, error: BaseException, account: Account | None = None) -> str:
    action = f"{client.meta.service_model.signing_name}:{pascal(operation)}"
    out = way_out(account)
    if isinstance(error, EndpointConnectionError | ConnectTimeoutError):
        return (
            f"let the function reach {client.meta.endpoint_url} (from a VPC: an interface endpoint for "
            f"{service} or a NAT gateway){out}"
        )
    code = error_code(error)
    if code in NOT_ORGANIZATION_ADMIN and action == "organizations:ListAccounts":
        return (
            "run the sweeper in the organization's management account or in a delegated administrator account, "
            "where the function's role may call organizations:ListAccounts (the stack grants it with "
            "consumerAccounts=organization), or list the consumer accounts in context consumerAccounts instead"
        )
    if code in ACCESS_DENIED and account is not None:
        return (
            f"allow {action} to {account.role_arn} (the EcrSweeperReader stack grants it: deploy or update it in "
            f"account {account.id}; look for a permissions boundary or a service control policy that denies it)"
            f"{out}"
        )
    if code in ACCESS_DENIED:
        return (
            f"allow {action} to the function's role (the stack grants it; look for a permissions boundary "
            "or a service control policy that denies it)"
        )
    if code in THROTTLED:
        return f"{action} was throttled after every retry; the next run reads it again, or raise its rate quota{out}"
    return f"the next run reads it again; if this persists, check the service's health in the region{out}"


def assume_fix(account: Account, error: BaseException) -> str:
    if error_code(error) in ACCESS_DENIED:
        return (
            f"deploy the EcrSweeperReader stack in account {account.id} (docs: Central registries): it creates "
            f"{account.role_arn} and lets the function's role assume it; if the role exists, make its trust policy "
            f"allow the function's role, and allow sts:AssumeRole on it to the function's role (the sweeper stack "
            f"grants it for consumerAccounts){way_out(account)}"
        )
    return f"the next run tries again; if this persists, check STS in the region{way_out(account)}"


def way_out(account: Account | None) -> str:
    """How to stop reading a consumer account: what it runs is then not protected."""
    if account is None:
        return ""
    return (
        f", or accept not protecting what account {account.id} runs: context consumerAccountsIgnored=['{account.id}']"
    )


def pascal(operation: str) -> str:
    return "".join(part.capitalize() for part in operation.split("_"))
