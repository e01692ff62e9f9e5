"""Where the next sweep starts, and the other state kept outside the function (AWS calls only,
apart from the pure rotation below).

- The cursor (an SSM parameter per region, and one per Step Functions batch): the repository the
  next run starts with, and the range of repositories this run never started, so that the next
  run can tell which ones two runs in a row left out (RepositoriesStarved).
- When the function first ran (an SSM parameter): the preview week counts from it.
- The Step Functions engine's work bucket: batch lists too large for the state, and Map results.
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

# SSM String parameters cannot be empty: this value means "nothing recorded".
BEGINNING = "-"


def rotate(names: Sequence[str], start: str) -> list[str]:
    """Sorted names, beginning with the first name at or after `start` and wrapping around.

    A start that no longer exists (the repository was deleted) still lands where it would have been.
    """
    ordered = sorted(names)
    index = bisect.bisect_left(ordered, start) if start else 0
    return ordered[index:] + ordered[:index]


@dataclass(frozen=True)
class Position:
    """Where a run starts, and which repositories the run before it did not start."""

    start: str = ""
    # The repositories a run never started are the tail of its rotation: from the first of them,
    # wrapping around, up to (not including) the repository it started with. Stored as that
    # (from, until) pair of names, so that the record stays small for any number of repositories.
    not_started: tuple[str, str] | None = None

    def left_unstarted(self, name: str) -> bool:
        if self.not_started is None:
            return False
        first, until = self.not_started
        if first == until:
            # The run started nothing at all.
            return True
        if first < until:
            return first <= name < until
        return name >= first or name < until

    def encode(self) -> str | None:
        if not self.start and self.not_started is None:
            return None
        value: dict[str, Any] = {"start": self.start}
        if self.not_started is not None:
            value["notStarted"] = list(self.not_started)
        return json.dumps(value, separators=(",", ":"))

    @classmethod
    def decode(cls, value: str | None) -> Position:
        """A recorded position; a plain repository name (the record of earlier versions) is a start."""
        if not value:
            return cls()
        if not value.startswith("{"):
            return cls(start=value)
        data = json.loads(value)
        pair = data.get("notStarted")
        return cls(
            start=str(data.get("start") or ""),
            not_started=(str(pair[0]), str(pair[1])) if isinstance(pair, list) and len(pair) == 2 else None,
        )


class CursorStore(Protocol):
    def load(self) -> Position: ...

    def save(self, position: Position) -> None: ...


class NoCursor:
    """No place to remember where to start: every run starts at the first repository."""

    def load(self) -> Position:
        return Position()

    def save(self, position: Position) -> None:
        return None


class SsmValue:
    """A value kept in an SSM parameter that the function creates on its first write. `legacy`: the
    parameter an earlier version kept the same value in (a parameter of the stack), read while this
    one does not exist yet and never written."""

    def __init__(self, client: Any, name: str, legacy: str | None = None) -> None:
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

    def __init__(self, client: Any, bucket: str) -> None:
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
