"""The in-use cache's facts and its object format, without S3: what is written back, and what is
refused when read."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from ecr_sweeper.aws.in_use.cache import CacheUnusable, InUseCacheStore, cache_key
from ecr_sweeper.aws.in_use.values import FunctionCode, ImmutableFacts

ARN = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:{}"
CODE = FunctionCode("abc 2026-11-27T03:00:00.000+0000", "registry/app:v1", "registry/app@sha256:" + "1" * 64)


class FakeS3:
    """get_object and put_object on a dict of keys."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    def get_object(self, Bucket: str, Key: str) -> dict[str, Any]:
        if Key not in self.objects:
            raise ClientError({"Error": {"Code": "NoSuchKey", "Message": "missing"}}, "GetObject")
        return {"Body": io.BytesIO(self.objects[Key])}

    def put_object(self, Bucket: str, Key: str, Body: bytes, ContentType: str) -> None:
        self.objects[Key] = Body


def learned() -> ImmutableFacts:
    """Facts of a run that used revisions 1 and 2 and version fn:1."""
    facts = ImmutableFacts({ARN.format(1): ("a",), ARN.format(9): ("gone",)}, {"fn:9": CODE})
    assert facts.images_of(ARN.format(1)) == ("a",)
    facts.learn_images(ARN.format(2), ("b", "c"))
    facts.learn_code("fn:1", CODE)
    return facts


def test_a_complete_scan_keeps_what_it_used_or_learned_and_drops_the_rest() -> None:
    # Given a scan that read every source
    facts = learned()
    facts.complete = True

    # When its facts are written and read back
    s3 = FakeS3()
    store = InUseCacheStore(s3, "bucket")
    store.save("123456789012", "us-east-1", facts)
    again = store.load("123456789012", "us-east-1")

    # Then revision 9 and version fn:9, which it no longer listed, are gone
    assert dict(again.known_task_definitions) == {ARN.format(1): ("a",), ARN.format(2): ("b", "c")}
    assert dict(again.known_function_versions) == {"fn:1": CODE}
    assert list(s3.objects) == [cache_key("123456789012", "us-east-1")] == ["in-use-cache/123456789012/us-east-1.json"]


def test_a_scan_that_stopped_keeps_what_it_did_not_reach() -> None:
    # Given the facts of a scan that stopped before the end (never marked complete), with revisions 1, 2 and 9 and
    # versions fn:1 and fn:9
    # When it chooses what to write back
    kept = learned().to_keep()

    # Then it keeps all of them, also revision 9 and fn:9, which it did not reach again
    assert set(kept.known_task_definitions) == {ARN.format(n) for n in (1, 2, 9)}
    assert set(kept.known_function_versions) == {"fn:1", "fn:9"}


def test_only_revisions_are_kept_never_a_family_name() -> None:
    # Given facts that learned the images of family "web", once by its name and once by its ARN without a revision
    # A family alone names its latest ACTIVE revision, which changes.
    facts = ImmutableFacts()
    facts.learn_images("web", ("x",))
    facts.learn_images("arn:aws:ecs:us-east-1:123456789012:task-definition/web", ("x",))
    facts.complete = True

    # When the same run asks for the family again, then it answers from what it learned
    assert facts.images_of("web") == ("x",)  # within the run, one describe is enough

    # Then also no family name is written back, only revisions
    assert dict(facts.to_keep().known_task_definitions) == {}


def test_a_version_is_known_only_with_the_fingerprint_it_was_listed_with() -> None:
    # Given facts that know version fn:1 with the fingerprint it was listed with
    facts = ImmutableFacts(function_versions={"fn:1": CODE})

    # When it is asked with another fingerprint, then it knows nothing
    assert facts.code_of("fn:1", "other 2026-11-28T03:00:00.000+0000") is None
    # And with its own fingerprint it answers the code it knew, and counts one hit
    assert facts.code_of("fn:1", CODE.fingerprint) == CODE
    assert facts.hits == 1


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"taskDefinitions": {ARN.format(1): "a"}}, "expected a list, found str"),
        ({"taskDefinitions": {ARN.format(1): [1]}}, "expected a string, found int"),
        ({"taskDefinitions": []}, "expected an object, found list"),
        ({"functionVersions": {"fn:1": {"imageUri": "x"}}}, "'fingerprint'"),
        ({"formatVersion": "1"}, "format version '1', this sweeper reads 1"),
        ({"region": "eu-west-1"}, "written for 123456789012/eu-west-1, not 123456789012/us-east-1"),
    ],
)
def test_an_object_of_another_shape_is_refused_with_why(change: dict[str, Any], why: str) -> None:
    # Given a saved cache object that is then changed into another shape (one change each case)
    s3 = FakeS3()
    store = InUseCacheStore(s3, "bucket")
    store.save("123456789012", "us-east-1", learned())
    key = cache_key("123456789012", "us-east-1")
    s3.objects[key] = json.dumps({**json.loads(s3.objects[key]), **change}).encode()

    # When it is read
    with pytest.raises(CacheUnusable) as refused:
        store.load("123456789012", "us-east-1")

    # Then it is refused, with the object named and the reason why
    assert f"s3://bucket/{key} is not a cache this sweeper reads" in str(refused.value)
    assert why in str(refused.value)


def test_a_missing_object_is_an_empty_cache() -> None:
    # Given no cache object in the bucket, when it is read
    facts = InUseCacheStore(FakeS3(), "bucket").load("123456789012", "us-east-1")

    # Then the facts are empty
    assert dict(facts.known_task_definitions) == {} and dict(facts.known_function_versions) == {}
