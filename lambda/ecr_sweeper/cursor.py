"""Where the next sweep starts, kept in an SSM parameter that the stack creates (AWS calls only)."""

from __future__ import annotations

from typing import Any

# SSM String parameters cannot be empty: this value means "start at the first repository".
BEGINNING = "-"


class SsmCursor:
    def __init__(self, client: Any, name: str) -> None:
        self._ssm = client
        self.name = name

    def load(self) -> str:
        try:
            value = str(self._ssm.get_parameter(Name=self.name)["Parameter"]["Value"])
        except self._ssm.exceptions.ParameterNotFound:
            return ""
        return "" if value == BEGINNING else value

    def save(self, start: str) -> None:
        self._ssm.put_parameter(Name=self.name, Value=start or BEGINNING, Type="String", Overwrite=True)
