"""The EcrSweeperReader stack, for each consumer account of a central registry: one role, named
consumerRoleName, that the sweeper's role (and only it) may assume, with the in-use scan's reads of
that account and nothing else. Deployed with `cdk deploy EcrSweeperReader -c readerStack=true ...`,
or to every account of an OU through a CloudFormation StackSet (docs, "Central registries").

The template needs no CDK bootstrap (no asset, no bootstrap version rule): a StackSet deploys it to
accounts that were never bootstrapped.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import BootstraplessSynthesizer, CfnOutput, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra.config import SweeperConfig
from infra.role import RegionalRole

READER_STACK_NAME = "EcrSweeperReader"


class ReaderRole(RegionalRole):
    """The consumer account's reader role: the in-use scan's reads (the same constants as the
    sweeper's role), in the swept regions, trusted by the sweeper's role only."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        role_name: str,
        sweeper_role_arn: str,
        organization_id: str | None,
        regions: tuple[str, ...],
    ) -> None:
        # IAM user guide, "AWS JSON policy elements: Principal": a role ARN in a trust policy names
        # exactly that role (IAM stores its unique ID: a sweeper role deleted and created again is
        # not trusted until this stack is deployed again). aws:PrincipalOrgID ("AWS global condition
        # context keys") adds that the caller belongs to the organization.
        sweeper: iam.PrincipalBase = iam.ArnPrincipal(sweeper_role_arn)
        if organization_id:
            sweeper = sweeper.with_conditions({"StringEquals": {"aws:PrincipalOrgID": organization_id}})
        super().__init__(
            scope,
            construct_id,
            regions=regions,
            assumed_by=sweeper,
            description="ecr-sweeper: lets the central registry's sweeper read which image digests this account runs",
            role_name=role_name,
        )
        unscoped: list[str] = []
        self.grant_in_use_scan(unscoped)
        self.acknowledge(("Resource::*", " ".join(unscoped)))


class EcrSweeperReaderStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: SweeperConfig, **kwargs: Any) -> None:
        super().__init__(
            scope,
            construct_id,
            synthesizer=BootstraplessSynthesizer(),
            description="ecr-sweeper reader role: the central registry's sweeper reads what this account runs",
            **kwargs,
        )
        assert config.sweeper_role_arn is not None  # SweeperConfig requires it with readerStack
        self.reader = ReaderRole(
            self,
            "ReaderRole",
            role_name=config.consumers.role_name,
            sweeper_role_arn=config.sweeper_role_arn,
            organization_id=config.organization_id,
            regions=config.regions,
        )
        CfnOutput(
            self,
            "ReaderRoleArn",
            value=self.reader.role_arn,
            description="ecr-sweeper: the role the sweeper assumes in this account",
        )
