"""The request handler moto dispatches `AppRunner.<Operation>` to (JSON 1.0 protocol)."""

from __future__ import annotations

import json
from typing import Any

from moto.core.exceptions import JsonRESTError
from moto.core.responses import ActionResult, BaseResponse
from moto.moto_api._internal import mock_random

from emulator.apprunner.models import AppRunnerBackend, apprunner_backends
from emulator.apprunner.validation import SERVICE, required_member


class AppRunnerResponse(BaseResponse):
    """The request handler moto dispatches AppRunner.<Operation> to; one method per operation."""

    def __init__(self) -> None:
        super().__init__(service_name=SERVICE)

    @property
    def apprunner_backend(self) -> AppRunnerBackend:
        return apprunner_backends[self.current_account][self.region]

    def _input(self) -> dict[str, Any]:
        body = self.body.decode() if isinstance(self.body, bytes) else self.body
        try:
            params = json.loads(body) if body else {}
        except ValueError:
            params = None
        if not isinstance(params, dict):
            # What AWS JSON services answer for a body that is not a JSON object.
            raise JsonRESTError("SerializationException", "Start of structure or map found where not expected.")
        return params

    def create_service(self) -> ActionResult:
        service = self.apprunner_backend.create_service(self._input())
        return ActionResult({"Service": service.describe(), "OperationId": str(mock_random.uuid4())})

    def describe_service(self) -> ActionResult:
        params = self._input()
        service = self.apprunner_backend.describe_service(required_member(params, "ServiceArn", "serviceArn"))
        return ActionResult({"Service": service.describe()})

    def list_services(self) -> ActionResult:
        params = self._input()
        services, token = self.apprunner_backend.list_services(params.get("MaxResults"), params.get("NextToken"))
        result: dict[str, Any] = {"ServiceSummaryList": [service.summary() for service in services]}
        if token is not None:
            result["NextToken"] = token
        return ActionResult(result)

    def update_service(self) -> ActionResult:
        service = self.apprunner_backend.update_service(self._input())
        return ActionResult({"Service": service.describe(), "OperationId": str(mock_random.uuid4())})

    def delete_service(self) -> ActionResult:
        params = self._input()
        service = self.apprunner_backend.delete_service(required_member(params, "ServiceArn", "serviceArn"))
        return ActionResult({"Service": service.describe(), "OperationId": str(mock_random.uuid4())})
