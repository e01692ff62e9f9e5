"""The botocore service models the emulator's request rules are read from, so that the rules cannot
drift from what botocore sends."""

from __future__ import annotations

from typing import Any

from botocore.loaders import create_loader
from botocore.model import ServiceModel


def service_model(service: str) -> ServiceModel:
    return ServiceModel(create_loader().load_service_model(service, "service-2"), service)


def limits(model: ServiceModel, shape: str) -> dict[str, Any]:
    """A shape's constraints (min, max, pattern) as the model states them."""
    return dict(model.shape_for(shape).metadata)
