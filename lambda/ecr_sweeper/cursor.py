"""State the function keeps between runs, each value in an SSM parameter that the stack creates
(AWS calls only): where the next sweep starts, and when the function first ran."""

from __future__ import annotations

from datetime import datetime
from typing import Any

# SSM String parameters cannot be empty: this value means "nothing recorded".
BEGINNING = "-"


class SsmValue:
    def __init__(self, client: Any, name: str) -> None:
        self._ssm = client
        self.name = name

    def read(self) -> str | None:
        """The value, or None when nothing is recorded (or the parameter does not exist)."""
        try:
            value = str(self._ssm.get_parameter(Name=self.name)["Parameter"]["Value"])
        except self._ssm.exceptions.ParameterNotFound:
            return None
        return None if value == BEGINNING else value

    def write(self, value: str | None) -> None:
        self._ssm.put_parameter(Name=self.name, Value=value or BEGINNING, Type="String", Overwrite=True)


class SsmCursor(SsmValue):
    """The repository the next sweep starts with; "" means the first."""

    def load(self) -> str:
        return self.read() or ""

    def save(self, start: str) -> None:
        self.write(start)


class SsmFirstRun(SsmValue):
    """When the function first ran: the preview week counts from it."""

    def load(self) -> datetime | None:
        """The recorded time; None when nothing is recorded yet. A value that is not a time raises."""
        value = self.read()
        return None if value is None else datetime.fromisoformat(value)

    def record(self, when: datetime) -> None:
        self.write(when.isoformat())
