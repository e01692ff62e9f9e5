"""The SDK the function runs must know every response field a safety rule reads."""

from __future__ import annotations

import botocore
import pytest

from ecr_sweeper.aws import clients
from ecr_sweeper.core.settings import ConfigError


def test_the_pinned_botocore_knows_every_field_the_rules_read() -> None:
    # Given the botocore this project pins
    # When its models are checked for every response field the safety rules read, then none is missing
    clients.require_models()


def test_an_sdk_without_a_field_is_refused_naming_version_and_field(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a list of required fields with one field more than any botocore knows
    # botocore drops a response field its model does not know, without an error: an older model
    # would turn referrer protection off silently. Simulate such a model by asking for one field more.
    fields = {**clients.REQUIRED_FIELDS, "ecr": {"ImageDetail": ("subjectManifestDigest", "fieldOfTomorrow")}}
    monkeypatch.setattr(clients, "REQUIRED_FIELDS", fields)

    # When the models are checked
    with pytest.raises(ConfigError) as refused:
        clients.require_models()

    # Then the check is refused, naming the botocore version, the service, the shape and the unknown field
    assert f"botocore {botocore.__version__} does not know ecr ImageDetail.fieldOfTomorrow" in str(refused.value)
    # And a field that botocore knows is not named
    assert "subjectManifestDigest" not in str(refused.value)
