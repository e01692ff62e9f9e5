"""The SDK the function runs must know every response field a safety rule reads."""

from __future__ import annotations

import botocore
import pytest

from ecr_sweeper.aws import clients
from ecr_sweeper.core.settings import ConfigError


def test_the_pinned_botocore_knows_every_field_the_rules_read() -> None:
    clients.require_models()


def test_an_sdk_without_a_field_is_refused_naming_version_and_field(monkeypatch: pytest.MonkeyPatch) -> None:
    # botocore drops a response field its model does not know, without an error: an older model
    # would turn referrer protection off silently. Simulate such a model by asking for one field more.
    fields = {**clients.REQUIRED_FIELDS, "ecr": {"ImageDetail": ("subjectManifestDigest", "fieldOfTomorrow")}}
    monkeypatch.setattr(clients, "REQUIRED_FIELDS", fields)
    with pytest.raises(ConfigError) as refused:
        clients.require_models()
    assert f"botocore {botocore.__version__} does not know ecr ImageDetail.fieldOfTomorrow" in str(refused.value)
    assert "subjectManifestDigest" not in str(refused.value)
