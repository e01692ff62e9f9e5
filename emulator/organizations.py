"""organizations:ListAccounts as AWS Organizations answers it. moto answers every account, with the
accounts its own backend holds: an empty list outside an organization and in a member account, so a
sweeper reading "every account of the organization" would read none and go on deleting.

"You can only call this operation from the management account or a member account that is a
delegated administrator" (Organizations API reference, ListAccounts); outside an organization,
AWSOrganizationsNotInUseException."""

from __future__ import annotations

import json

from moto.organizations.exceptions import AWSOrganizationsNotInUseException, OrganizationsClientError
from moto.organizations.models import organizations_backends
from moto.organizations.responses import OrganizationsResponse


def list_accounts(self: OrganizationsResponse) -> str:
    caller = self.current_account
    management, partition = organizations_backends.master_accounts.get(caller, (caller, self.partition))
    backend = organizations_backends[management][partition]
    if backend.org is None:
        raise AWSOrganizationsNotInUseException
    if caller != backend.org.master_account_id and caller not in {admin.account.id for admin in backend.admins}:
        raise OrganizationsClientError("AccessDeniedException", "You don't have permissions to access this resource.")
    accounts, next_token = backend.list_accounts(
        max_results=self._get_int_param("MaxResults"), next_token=self._get_param("NextToken")
    )
    return json.dumps({"Accounts": accounts, "NextToken": next_token})


def _install() -> None:
    """Called by emulator.install(), once, under its lock (assigning again would change nothing)."""
    OrganizationsResponse.list_accounts = list_accounts  # type: ignore[method-assign]
