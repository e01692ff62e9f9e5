"""Who the caller is for a pull-time update exclusion: the IAM principal an exclusion must name for
a caller as sts:GetCallerIdentity reports it, and whether a list of exclusions covers that caller.

ECR API reference, RegisterPullTimeUpdateExclusion, principalArn pattern:
    ^arn:aws(-[a-z]+)*:iam::[0-9]{12}:(role|user)/[\\w+=,.@-]+(/[\\w+=,.@-]+)*$
so only a role or an IAM user can be excluded, named with its path; STS names a role session
`arn:aws:sts::<account>:assumed-role/<role name>/<session>`, without the role's path.
"""

from __future__ import annotations

import re

import pytest

from ecr_sweeper.core.references import is_excluded, principal_arn

# The principalArn pattern of RegisterPullTimeUpdateExclusion (ECR API reference).
EXCLUSION_PATTERN = re.compile(r"^arn:aws(-[a-z]+)*:iam::[0-9]{12}:(role|user)/[\w+=,.@-]+(/[\w+=,.@-]+)*$")

ACCOUNT = "123456789012"
OTHER_ACCOUNT = "210987654321"
SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/ci/build-42"
SSO_SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/AWSReservedSSO_Admin_0123456789abcdef/alice@example.com"
USER = f"arn:aws:iam::{ACCOUNT}:user/alice"
USER_WITH_PATH = f"arn:aws:iam::{ACCOUNT}:user/dev/alice"
ROOT = f"arn:aws:iam::{ACCOUNT}:root"
FEDERATED = f"arn:aws:sts::{ACCOUNT}:federated-user/bob"
GOV_SESSION = f"arn:aws-us-gov:sts::{ACCOUNT}:assumed-role/ci/build-42"
CN_SESSION = f"arn:aws-cn:sts::{ACCOUNT}:assumed-role/ci/build-42"


@pytest.mark.parametrize(
    ("caller", "principal"),
    [
        # A role session maps to its role, without a path (STS does not report it).
        (SESSION, f"arn:aws:iam::{ACCOUNT}:role/ci"),
        (SSO_SESSION, f"arn:aws:iam::{ACCOUNT}:role/AWSReservedSSO_Admin_0123456789abcdef"),
        # An IAM user is its own principal, path and all.
        (USER, USER),
        (USER_WITH_PATH, USER_WITH_PATH),
        # The root user and a federated user cannot be excluded.
        (ROOT, None),
        (FEDERATED, None),
        # Other partitions keep theirs.
        (GOV_SESSION, f"arn:aws-us-gov:iam::{ACCOUNT}:role/ci"),
        (CN_SESSION, f"arn:aws-cn:iam::{ACCOUNT}:role/ci"),
        (f"arn:aws-us-gov:iam::{ACCOUNT}:user/alice", f"arn:aws-us-gov:iam::{ACCOUNT}:user/alice"),
        (f"arn:aws-cn:iam::{ACCOUNT}:user/alice", f"arn:aws-cn:iam::{ACCOUNT}:user/alice"),
    ],
    ids=[
        "role-session",
        "sso-session",
        "user",
        "user-with-path",
        "root",
        "federated-user",
        "govcloud-session",
        "china-session",
        "govcloud-user",
        "china-user",
    ],
)
def test_principal_arn(caller: str, principal: str | None) -> None:
    # Given a caller as sts:GetCallerIdentity reports it
    # When its principal is asked for, then it is the role or the IAM user an exclusion must name, or none
    assert principal_arn(caller) == principal
    # And a principal is an ARN that RegisterPullTimeUpdateExclusion accepts
    if principal is not None:
        # What the tool tells a person to register is an ARN that RegisterPullTimeUpdateExclusion accepts.
        assert EXCLUSION_PATTERN.fullmatch(principal)


@pytest.mark.parametrize(
    ("caller", "exclusions", "excluded"),
    [
        # A role session is covered by its role, with or without the role's path.
        (SESSION, [f"arn:aws:iam::{ACCOUNT}:role/ci"], True),
        (SESSION, [f"arn:aws:iam::{ACCOUNT}:role/platform/ci"], True),
        (
            SSO_SESSION,
            [f"arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_0123456789abcdef"],
            True,
        ),
        (SESSION, [f"arn:aws:iam::{OTHER_ACCOUNT}:role/other", f"arn:aws:iam::{ACCOUNT}:role/platform/ci"], True),
        # ... but not by the same name in another account, another role, or a user of that name.
        (SESSION, [f"arn:aws:iam::{OTHER_ACCOUNT}:role/platform/ci"], False),
        (SESSION, [f"arn:aws:iam::{ACCOUNT}:role/platform/cd"], False),
        (SESSION, [f"arn:aws:iam::{ACCOUNT}:role/ci-admin"], False),
        (SESSION, [f"arn:aws:iam::{ACCOUNT}:user/ci"], False),
        (SESSION, [], False),
        # An IAM user is covered by its own ARN, with or without a path.
        (USER, [USER], True),
        (USER_WITH_PATH, [USER_WITH_PATH], True),
        (USER, [f"arn:aws:iam::{ACCOUNT}:user/bob"], False),
        (USER, [f"arn:aws:iam::{OTHER_ACCOUNT}:user/alice"], False),
        (USER, [f"arn:aws:iam::{ACCOUNT}:role/alice"], False),
        # The root user and a federated user can never be excluded, whatever the list says.
        (ROOT, [ROOT], False),
        (ROOT, [f"arn:aws:iam::{ACCOUNT}:user/root"], False),
        (FEDERATED, [FEDERATED, f"arn:aws:iam::{ACCOUNT}:user/bob"], False),
        # GovCloud and China: the partition is part of the match.
        (GOV_SESSION, [f"arn:aws-us-gov:iam::{ACCOUNT}:role/platform/ci"], True),
        (CN_SESSION, [f"arn:aws-cn:iam::{ACCOUNT}:role/ci"], True),
        (GOV_SESSION, [f"arn:aws:iam::{ACCOUNT}:role/ci"], False),
        (CN_SESSION, [f"arn:aws-us-gov:iam::{ACCOUNT}:role/ci"], False),
        (SESSION, [f"arn:aws-cn:iam::{ACCOUNT}:role/ci"], False),
    ],
)
def test_is_excluded(caller: str, exclusions: list[str], excluded: bool) -> None:
    # Given a caller and a list of pull-time update exclusions
    # When it is asked whether the caller is excluded, then the answer follows role, user, account and partition
    assert is_excluded(caller, exclusions) is excluded
