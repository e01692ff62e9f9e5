"""When the function first ran, kept in an SSM parameter that the stack creates (AWS calls only)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ecr_sweeper.cursor import BEGINNING


class SsmFirstRun:
    def __init__(self, client: Any, name: str) -> None:
        self._ssm = client
        self.name = name

    def load(self) -> datetime | None:
        """The recorded time; None when nothing is recorded yet. A value that is not a time raises."""
        try:
            value = str(self._ssm.get_parameter(Name=self.name)["Parameter"]["Value"])
        except self._ssm.exceptions.ParameterNotFound:
            return None
        return None if value == BEGINNING else datetime.fromisoformat(value)

    def record(self, when: datetime) -> None:
        self._ssm.put_parameter(Name=self.name, Value=when.isoformat(), Type="String", Overwrite=True)
