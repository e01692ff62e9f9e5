"""A central registry's consumer accounts: which to read (listed, or the AWS Organization's ACTIVE
accounts)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ecr_sweeper.aws.in_use.calls import Source
from ecr_sweeper.core.settings import Consumers

if TYPE_CHECKING:
    from mypy_boto3_sts import STSClient


def consumer_accounts(
    identity: Source[STSClient], connect: Callable[..., Any], consumers: Consumers
) -> tuple[str, ...]:
    """The consumer accounts to read: the listed ones, or the organization's ACTIVE accounts
    (organizations:ListAccounts), less the function's own account and the ignored ones. `identity`:
    the scan's source for STS, whose calls it counts."""
    own = (identity.call("get_caller_identity") or {})["Account"]
    if not consumers.organization:
        return consumers.to_read(own, consumers.accounts)
    organizations = Source("organizations", connect("organizations"), identity.in_use, connect, identity.run)
    return consumers.to_read(own, [a["Id"] for a in organizations.pages("list_accounts", "Accounts") if _active(a)])


def _active(account: Mapping[str, Any]) -> bool:
    """Account.State (ACTIVE, or PENDING_ACTIVATION, SUSPENDED, PENDING_CLOSURE, CLOSED), which
    replaces Account.Status; Status is retired on September 9, 2026 (Organizations API reference,
    Account)."""
    return (account.get("State") or account.get("Status")) == "ACTIVE"
