"""The in-use picture of a Step Functions execution (S3 calls and their JSON only): what the execution's
one scan found, written to the work bucket once, and read by each batch instead of scanning again.

It holds every digest in use with its users (for the reasons), Amazon Inspector's sightings, what
the scan skipped, ignored and read, and the time the scan finished: a batch that starts long after
it scans again (inUseMaxAgeMinutes), and its records name that time. A picture that is missing, of
another format, account or region, or not JSON raises PictureUnusable: the batch then scans for
itself and says why. Nothing here decides what is in use.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from ecr_sweeper.aws.in_use.shapes import listed, mapping, text
from ecr_sweeper.aws.in_use.values import InUse
from ecr_sweeper.core.errors import describe_error
from ecr_sweeper.core.model import Protection, Sighting, Use

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

FORMAT = "ecr-sweeper-in-use-picture"
VERSION = 1


class PictureUnusable(RuntimeError):
    """The picture could not be read, or is not one this sweeper reads; the message says why."""


@dataclass(frozen=True)
class Picture:
    in_use: InUse
    scanned_at: datetime


class PictureStore:
    def __init__(self, client: S3Client, bucket: str) -> None:
        self._s3 = client
        self.bucket = bucket

    def where(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    def save(self, key: str, in_use: InUse, *, account: str, region: str, scanned_at: datetime) -> None:
        body = json.dumps(encode(in_use, account=account, region=region, scanned_at=scanned_at), separators=(",", ":"))
        self._s3.put_object(Bucket=self.bucket, Key=key, Body=body.encode(), ContentType="application/json")

    def load(self, key: str, *, account: str, region: str) -> Picture:
        try:
            body = self._s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except (ClientError, BotoCoreError) as error:
            raise PictureUnusable(f"{self.where(key)} could not be read: {describe_error(error)}") from error
        try:
            return decode(json.loads(body), account=account, region=region)
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            raise PictureUnusable(f"{self.where(key)} is not an in-use picture this sweeper reads: {error}") from error


def encode(in_use: InUse, *, account: str, region: str, scanned_at: datetime) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "version": VERSION,
        "account": account,
        "region": region,
        "scannedAt": scanned_at.isoformat(),
        "uses": {digest: [[use.family.value, use.who] for use in uses] for digest, uses in in_use.digests.items()},
        "inspector": {
            digest: [s.in_use_count, s.last_in_use_at.isoformat() if s.last_in_use_at else None]
            for digest, s in in_use.inspector.items()
        },
        "skipped": in_use.skipped,
        "ignoredClusters": in_use.ignored_clusters,
        "consumerAccounts": in_use.consumer_accounts,
        "ignoredAccounts": in_use.ignored_accounts,
        "inspectorUnavailable": in_use.inspector_unavailable,
        "calls": in_use.api_calls,
        "fromCache": in_use.from_cache,
    }


def decode(data: Any, *, account: str, region: str) -> Picture:
    """The picture in `data`; ValueError (or TypeError, KeyError) when it is not one of this account and region."""
    if not isinstance(data, Mapping) or (data.get("format"), data.get("version")) != (FORMAT, VERSION):
        raise ValueError(f"format {_get(data, 'format')!r} version {_get(data, 'version')!r}, not {FORMAT} {VERSION}")
    if (data.get("account"), data.get("region")) != (account, region):
        raise ValueError(f"written for {data.get('account')}/{data.get('region')}, not {account}/{region}")
    families = {family.value: family for family in Protection}
    in_use = InUse()
    for digest, uses in mapping(data["uses"]).items():
        for family, who in listed(uses):
            in_use.add(str(digest), Use(families[family], text(who)))
    for digest, (count, last) in mapping(data["inspector"]).items():
        in_use.sighted(str(digest), Sighting(int(count), datetime.fromisoformat(last) if last else None))
    in_use.skipped = [text(s) for s in listed(data["skipped"])]
    in_use.ignored_clusters = [text(c) for c in listed(data["ignoredClusters"])]
    in_use.consumer_accounts = [text(a) for a in listed(data["consumerAccounts"])]
    in_use.ignored_accounts = [text(a) for a in listed(data["ignoredAccounts"])]
    unavailable = data.get("inspectorUnavailable")
    in_use.inspector_unavailable = text(unavailable) if unavailable is not None else None
    in_use.from_cache = int(data["fromCache"])
    return Picture(in_use, datetime.fromisoformat(text(data["scannedAt"])))


def _get(data: Any, key: str) -> Any:
    return data.get(key) if isinstance(data, Mapping) else None
