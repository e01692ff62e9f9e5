"""The state kept outside the function (AWS calls only; the rotation itself is core/rotation.py):

- The cursor (an SSM parameter per region, and one per Step Functions batch): the repository the
  next run starts with, and the range of repositories this run never started, so that the next
  run can tell which ones two runs in a row left out (RepositoriesStarved).
- When the function first ran (an SSM parameter): the preview week counts from it.
- The Step Functions engine's work bucket: batch lists too large for the state, and Map results.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ecr_sweeper.core.rotation import Position

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_ssm import SSMClient

# SSM String parameters cannot be empty: this value means "nothing recorded".
BEGINNING = "-"


class SsmValue:
    """A value kept in an SSM parameter that the function creates on its first write. `legacy`: the
    parameter an earlier version kept the same value in (a parameter of the stack), read while this
    one does not exist yet and never written."""

    def __init__(self, client: SSMClient, name: str, legacy: str | None = None) -> None:
        self._ssm = client
        self.name = name
        self.legacy = legacy

    def read(self) -> str | None:
        """The value, or None when nothing is recorded (or neither parameter exists)."""
        value = self._get(self.name)
        if value is None and self.legacy:
            value = self._get(self.legacy)
        return None if value in (None, BEGINNING) else value

    def read_own(self) -> str | None:
        """The value of this parameter alone (None: not written yet, or nothing recorded)."""
        value = self._get(self.name)
        return None if value in (None, BEGINNING) else value

    def _get(self, name: str) -> str | None:
        """The parameter's value; None when it does not exist."""
        try:
            return str(self._ssm.get_parameter(Name=name)["Parameter"]["Value"])
        except self._ssm.exceptions.ParameterNotFound:
            return None

    def write(self, value: str | None) -> None:
        self._ssm.put_parameter(Name=self.name, Value=value or BEGINNING, Type="String", Overwrite=True)


class SsmCursor(SsmValue):
    """The position of the next sweep, in an SSM parameter (one per region, or per batch)."""

    def load(self) -> Position:
        return Position.decode(self.read())

    def save(self, position: Position) -> None:
        self.write(position.encode())


class SsmFirstRun(SsmValue):
    """When the function first ran: the preview week counts from it."""

    def load(self) -> datetime | None:
        """The recorded time; None when nothing is recorded yet. A value that is not a time raises.
        A time only the legacy parameter holds is copied to this one at once: a later deploy may
        put the legacy parameter's template value back, and the preview week must not start over."""
        own = self.read_own()
        if own is not None:
            return datetime.fromisoformat(own)
        value = self.read()
        if value is None:
            return None
        when = datetime.fromisoformat(value)
        self.record(when)
        return when

    def record(self, when: datetime) -> None:
        self.write(when.isoformat())


class WorkBucket:
    """The Step Functions engine's S3 bucket: what does not fit in the state machine's state."""

    def __init__(self, client: S3Client, bucket: str) -> None:
        self._s3 = client
        self.bucket = bucket

    def put_json(self, key: str, value: Any) -> None:
        self._s3.put_object(
            Bucket=self.bucket, Key=key, Body=json.dumps(value).encode(), ContentType="application/json"
        )

    def map_results(self, manifest_key: str) -> Iterator[dict[str, Any]]:
        """The outputs of a distributed Map, from the manifest its ResultWriter left here. Raises
        ResultsFailed when the manifest lists result files of failed iterations."""
        manifest = self._get_json(manifest_key)
        for written in manifest.get("ResultFiles", {}).get("SUCCEEDED", []):
            for entry in self._get_json(written["Key"]):
                yield json.loads(entry["Output"])
        failed = [f for f in manifest.get("ResultFiles", {}).get("FAILED", []) if f.get("Size")]
        if failed:
            raise ResultsFailed(f"{len(failed)} result file(s) of failed batches in s3://{self.bucket}")

    def _get_json(self, key: str) -> Any:
        return json.loads(self._s3.get_object(Bucket=self.bucket, Key=key)["Body"].read())


class ResultsFailed(RuntimeError):
    """A distributed Map wrote results of failed iterations: the execution must fail."""
