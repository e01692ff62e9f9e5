"""The in-use cache (S3 calls only): what the in-use scan learned that never changes, kept between
runs in one object per account and region, `in-use-cache/<account>/<region>.json`.

It holds in_use.ImmutableFacts: the images each task definition revision names, and the image each
published Lambda version runs. A missing object is an empty cache (the first run). An object that
cannot be read (AccessDenied, anything S3 answers), is not JSON, is of another format version, or
belongs to another account or region raises CacheUnusable: the scan then describes everything, and
the run says why. Nothing here decides what is in use.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from ecr_sweeper.aws.in_use.shapes import listed, mapping, optional_text, text
from ecr_sweeper.aws.in_use.values import FunctionCode, ImmutableFacts
from ecr_sweeper.core.constants import IN_USE_CACHE_PREFIX
from ecr_sweeper.core.errors import describe_error, error_code

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sts import STSClient

# The format of the object; another version (written by a newer or older sweeper) is not read.
FORMAT_VERSION = 1
# What S3 answers for an object that does not exist (404; a 403 without s3:ListBucket).
_MISSING = frozenset({"NoSuchKey", "404", "NotFound"})


class CacheUnusable(RuntimeError):
    """The cache could not be read or written; the message says why."""


def cache_key(account: str, region: str) -> str:
    return f"{IN_USE_CACHE_PREFIX}/{account}/{region}.json"


def caller_account(sts: STSClient) -> str:
    """The account of the credentials (sts:GetCallerIdentity, which no policy needs to allow)."""
    try:
        return str(sts.get_caller_identity()["Account"])
    except (ClientError, BotoCoreError) as error:
        raise CacheUnusable(f"the account could not be told ({describe_error(error)})") from error


class InUseCacheStore:
    """The cache objects in one S3 bucket (the stack's in-use cache bucket, or the Step Functions
    engine's work bucket)."""

    def __init__(self, client: S3Client, bucket: str) -> None:
        self._s3 = client
        self.bucket = bucket

    def where(self, account: str, region: str) -> str:
        return f"s3://{self.bucket}/{cache_key(account, region)}"

    def load(self, account: str, region: str) -> ImmutableFacts:
        """What earlier runs learned in this account and region; empty when nothing was written yet."""
        try:
            body = self._s3.get_object(Bucket=self.bucket, Key=cache_key(account, region))["Body"].read()
        except (ClientError, BotoCoreError) as error:
            if error_code(error) in _MISSING:
                return ImmutableFacts()
            raise CacheUnusable(f"{self.where(account, region)} could not be read: {describe_error(error)}") from error
        try:
            return decode(json.loads(body), account, region)
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            raise CacheUnusable(f"{self.where(account, region)} is not a cache this sweeper reads: {error}") from error

    def save(self, account: str, region: str, facts: ImmutableFacts) -> None:
        """Write back what the run used or learned (ImmutableFacts.to_keep)."""
        body = json.dumps(encode(facts.to_keep(), account, region), separators=(",", ":")).encode()
        try:
            self._s3.put_object(
                Bucket=self.bucket, Key=cache_key(account, region), Body=body, ContentType="application/json"
            )
        except (ClientError, BotoCoreError) as error:
            raise CacheUnusable(
                f"{self.where(account, region)} could not be written: {describe_error(error)}"
            ) from error


def encode(facts: ImmutableFacts, account: str, region: str) -> dict[str, Any]:
    """The cache object of `facts`' known facts (what ImmutableFacts.to_keep kept)."""
    return {
        "formatVersion": FORMAT_VERSION,
        "account": account,
        "region": region,
        "taskDefinitions": {arn: list(images) for arn, images in sorted(facts.known_task_definitions.items())},
        "functionVersions": {
            version: {
                "fingerprint": code.fingerprint,
                "imageUri": code.image_uri,
                "resolvedImageUri": code.resolved_image_uri,
            }
            for version, code in sorted(facts.known_function_versions.items())
        },
    }


def decode(data: Any, account: str, region: str) -> ImmutableFacts:
    """The facts of a cache object; ValueError (or TypeError, KeyError) when it is not one."""
    if not isinstance(data, Mapping):
        raise ValueError("not a JSON object")
    if data.get("formatVersion") != FORMAT_VERSION:
        raise ValueError(f"format version {data.get('formatVersion')!r}, this sweeper reads {FORMAT_VERSION}")
    if (data.get("account"), data.get("region")) != (account, region):
        raise ValueError(f"written for {data.get('account')}/{data.get('region')}, not {account}/{region}")
    task_definitions = {
        text(arn): tuple(text(image) for image in listed(images))
        for arn, images in mapping(data["taskDefinitions"]).items()
    }
    function_versions = {
        text(version): FunctionCode(
            text(mapping(code)["fingerprint"]),
            optional_text(code.get("imageUri")),
            optional_text(code.get("resolvedImageUri")),
        )
        for version, code in mapping(data["functionVersions"]).items()
    }
    return ImmutableFacts(task_definitions, function_versions)
