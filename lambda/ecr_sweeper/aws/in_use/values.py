"""The in-use picture and its parts (values and errors, no AWS call): every digest found in use
with its users, what never changes once it exists (ImmutableFacts, kept between runs by the cache),
the scan's options, and how a scan fails closed."""

from __future__ import annotations

import functools
import re
import threading
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from ecr_sweeper.core.model import Sighting, Use
from ecr_sweeper.core.references import is_digest, parse_image
from ecr_sweeper.core.settings import Consumers


class InUseScanFailed(RuntimeError):
    """A source of "in use" could not be read completely; no digest may be deleted on a partial picture."""

    # The calls the scan made before it failed (InUseScanCalls counts them too).
    calls = 0

    def __init__(self, source: str, cause: str, fix: str) -> None:
        self.source, self.cause, self.fix = source, cause, fix
        super().__init__(f"in-use source {source} could not be read: {cause}. Fix: {fix}")


class ScanOutOfTime(InUseScanFailed):
    """The invocation's time ran out before every source was read: the picture is partial."""

    def __init__(self, margin_s: float, calls: int) -> None:
        super().__init__(
            "in-use scan",
            f"the full scan did not finish in the time left (less than {margin_s:g} s of the invocation were left "
            f"after {calls} calls)",
            "none needed when the in-use cache is on and can be written (IN_USE_CACHE_BUCKET, set by the stack): "
            "the task definitions and function versions read so far are cached, so the next run describes only "
            "the rest. Without the cache (or with an in_use_cache_error record saying it cannot be written), every "
            "run describes them all again: turn it on, or fix what the record names",
        )
        # "in-use scan failed: <this>", as the run's error and its in_use_scan_failed record say it.
        RuntimeError.__init__(self, f"{self.cause}. Fix: {self.fix}")


class Calls:
    """The API calls a scan made, counted from every thread it runs (each page of a listing is one)."""

    def __init__(self) -> None:
        self._count = 0
        self._lock = threading.Lock()

    def add(self) -> None:
        with self._lock:
            self._count += 1

    def add_many(self, count: int) -> None:
        with self._lock:
            self._count += count

    @property
    def count(self) -> int:
        return self._count


class InUse:
    """Every digest found in use, and who uses it; read-only once the scan is done."""

    def __init__(self) -> None:
        # Digest -> its users, in the order found, each once. A dict, not a list: one digest may have
        # tens of thousands of users (every revision a deployment pipeline registered for an
        # unchanged image), and a list's membership test made the scan quadratic in them.
        self._uses: dict[str, dict[Use, None]] = defaultdict(dict)
        # The API calls the scan made (each page of a listing is one), and how many describe calls
        # the immutable facts of earlier runs spared (ImmutableFacts.hits).
        self.api_calls = 0
        self.from_cache = 0
        # Sources that do not exist in the region (the service is not offered there).
        self.skipped: list[str] = []
        # EKS clusters not read because the operator said so (eksClustersIgnored).
        self.ignored_clusters: list[str] = []
        # Consumer accounts read completely, and those not read because the operator said so
        # (consumerAccountsIgnored).
        self.consumer_accounts: list[str] = []
        self.ignored_accounts: list[str] = []
        # Why Amazon Inspector's in-use data was not used (auto mode), if it was not.
        self.inspector_unavailable: str | None = None
        # Digest -> what Amazon Inspector saw: (images in use now, last time in use).
        self.inspector: dict[str, Sighting] = {}
        # When the scan that found this finished, and, when it was read from a Step Functions
        # execution's picture rather than scanned now, where (aws/in_use/picture.py).
        self.scanned_at: datetime | None = None
        self.picture: str | None = None

    def add(self, digest: str | None, use: Use) -> None:
        if digest is not None and is_digest(digest):
            self._uses[digest].setdefault(use)

    def merge(self, part: InUse) -> None:
        """Take in what one source (or one account) found, after what is already here: the scan
        reads its sources at once, each into its own part, and merges the parts in a fixed order
        (accounts, then the sources' order), so that a digest's first user is the same every run."""
        for digest, uses in part._uses.items():
            mine = self._uses[digest]
            for use in uses:
                mine.setdefault(use)
        for digest, sighting in part.inspector.items():
            self.sighted(digest, sighting)
        self.skipped += [service for service in part.skipped if service not in self.skipped]
        self.ignored_clusters += part.ignored_clusters
        if part.inspector_unavailable:
            known = self.inspector_unavailable
            self.inspector_unavailable = (
                f"{known}; {part.inspector_unavailable}" if known else part.inspector_unavailable
            )

    def sighted(self, digest: str, sighting: Sighting) -> None:
        """Keep the strongest of several sightings of a digest (one per repository that holds it)."""
        known = self.inspector.get(digest)
        if known is None:
            self.inspector[digest] = sighting
            return
        last = [t for t in (known.last_in_use_at, sighting.last_in_use_at) if t is not None]
        self.inspector[digest] = Sighting(max(known.in_use_count, sighting.in_use_count), max(last, default=None))

    def add_reference(self, reference: str | None, use: Use) -> None:
        """An image reference protects its digest; a reference by tag alone names a tagged image,
        which is never deleted, and a reference to another registry is not ECR's."""
        ref = parse_image(reference)
        if ref is not None:
            self.add(ref.digest, use)

    @functools.cached_property
    def digests(self) -> Mapping[str, tuple[Use, ...]]:
        return {digest: tuple(uses) for digest, uses in self._uses.items()}

    def users(self, digest: str) -> tuple[Use, ...]:
        return self.digests.get(digest, ())

    @property
    def count(self) -> int:
        return len(self._uses)

    def by_family(self) -> dict[str, int]:
        """How many digests each family protects (a digest counts for each family that uses it)."""
        counts: Counter[str] = Counter()
        for uses in self._uses.values():
            counts.update({use.family.value for use in uses})
        return dict(counts)


@dataclass(frozen=True)
class FunctionCode:
    """The image a published Lambda version runs: fixed when the version is published."""

    # CodeSha256 and LastModified as ListFunctions lists the version. A function deleted and created
    # again under the same name numbers its versions from 1 again: the same name and number with
    # another fingerprint is another version, and is read again.
    fingerprint: str
    image_uri: str | None
    resolved_image_uri: str | None


# arn:<partition>:ecs:<region>:<account>:task-definition/<family>:<revision>: one revision, never
# changed once registered (a family name alone means its latest ACTIVE revision, which changes).
_REVISION_ARN = re.compile(r"arn:[\w-]+:ecs:[\w-]+:\d{12}:task-definition/[\w-]+:\d+")


class ImmutableFacts:
    """Answers of describe calls that can never change, remembered from earlier runs (the in-use
    cache) and learned in this one: which images a task definition revision names, and which image
    a published Lambda version runs. Whether a revision is still ACTIVE, which versions exist, and
    every mutable fact are read every run; these only spare describing the same object again."""

    def __init__(
        self,
        task_definitions: Mapping[str, tuple[str, ...]] | None = None,
        function_versions: Mapping[str, FunctionCode] | None = None,
    ) -> None:
        self._known_task_definitions = dict(task_definitions or {})
        self._known_function_versions = dict(function_versions or {})
        # What this run used or learned: what is written back. Entries of revisions and versions no
        # longer listed (deregistered, deleted) are not among them, and are dropped.
        self.task_definitions: dict[str, tuple[str, ...]] = {}
        self.function_versions: dict[str, FunctionCode] = {}
        # Set when the scan read every source: only then is "not used this run" the same as "gone".
        self.complete = False
        self.hits = 0
        # The scan reads its sources at once: the facts of one account are shared by its threads.
        self._lock = threading.Lock()

    @property
    def known_task_definitions(self) -> Mapping[str, tuple[str, ...]]:
        """What earlier runs learned (read from the cache, or kept by to_keep)."""
        return self._known_task_definitions

    @property
    def known_function_versions(self) -> Mapping[str, FunctionCode]:
        return self._known_function_versions

    def images_of(self, task_definition: str) -> tuple[str, ...] | None:
        """The images the revision names, if known; None: describe it."""
        with self._lock:
            if task_definition in self.task_definitions:
                return self.task_definitions[task_definition]
            known = self._known_task_definitions.get(task_definition)
            if known is not None:
                self.hits += 1
                self.task_definitions[task_definition] = known
            return known

    def learn_images(self, task_definition: str, images: tuple[str, ...]) -> None:
        with self._lock:
            self.task_definitions[task_definition] = images

    def code_of(self, version: str, fingerprint: str) -> FunctionCode | None:
        """The code of the published version `name:N` listed with `fingerprint`, if known."""
        with self._lock:
            known = self.function_versions.get(version) or self._known_function_versions.get(version)
            if known is None or known.fingerprint != fingerprint:
                return None
            if version not in self.function_versions:
                self.hits += 1
                self.function_versions[version] = known
            return known

    def learn_code(self, version: str, code: FunctionCode) -> None:
        with self._lock:
            self.function_versions[version] = code

    def to_keep(self) -> ImmutableFacts:
        """What to write back, as the known facts of the next run: what this run used or learned;
        and, when the scan stopped before reading every source, also what it did not reach
        (nothing then says it is gone)."""
        revisions = {arn: images for arn, images in self.task_definitions.items() if _REVISION_ARN.fullmatch(arn)}
        if self.complete:
            return ImmutableFacts(revisions, self.function_versions)
        return ImmutableFacts(
            {**self._known_task_definitions, **revisions},
            {**self._known_function_versions, **self.function_versions},
        )


@dataclass(frozen=True)
class ScanOptions:
    # EKS clusters whose workloads the operator accepts not to protect (context eksClustersIgnored).
    eks_ignored: frozenset[str] = frozenset()
    # Amazon Inspector's in-use data: "auto" (used when readable), "required", or "off".
    inspector: str = "auto"
    # A central registry's consumer accounts, read through a role assumed in each.
    consumers: Consumers = field(default_factory=Consumers)


@dataclass(frozen=True)
class Account:
    """A consumer account, and the role the scan reads it through."""

    id: str
    role_arn: str
