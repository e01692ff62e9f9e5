"""The layering of ARCHITECTURE.md, read from the code's imports: faces over one composition root,
decisions apart from AWS calls."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "lambda" / "ecr_sweeper"
FACES = {"handler", "stepfunctions", "cli"}
# The only modules that may import an AWS SDK or an HTTP client: the ECR adapter, the in-use scan
# (and its Kubernetes reader, plain HTTPS to the clusters' API servers), the client factory, the
# state kept in SSM and S3, and the in-use cache in S3.
ADAPTERS = {"registry", "in_use", "kubernetes", "clients", "cursor", "in_use_cache"}
NETWORK = {"boto3", "botocore", "urllib3", "requests", "http", "socket"}
# Pure: no adapter, no composition root, no face, no Powertools.
PURE = {
    "model",
    "planner",
    "policy",
    "references",
    "preview",
    "deadline",
    "settings",
    "errors",
    "constants",
    "outcome",
    "saved_plan",
    "permissions",
}
# What only the command-line face uses to render: tables, JSON, progress (rich).
FACE_PARTS = {"views"}


def imports(module: str) -> set[str]:
    """Top-level names this module imports: ecr_sweeper modules by their own name, others by package."""
    tree = ast.parse((PACKAGE / f"{module}.py").read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "ecr_sweeper":
                found |= {alias.name for alias in node.names}
            elif node.module.startswith("ecr_sweeper."):
                found.add(node.module.split(".")[1])
            else:
                found.add(node.module.split(".")[0])
    return found


MODULES = sorted(path.stem for path in PACKAGE.glob("*.py") if path.stem not in ("__init__", "__main__"))


@pytest.mark.parametrize("face", sorted(FACES))
def test_no_face_imports_another_face(face: str) -> None:
    assert imports(face) & FACES == set()


@pytest.mark.parametrize("module", MODULES)
def test_only_the_adapters_import_an_aws_sdk_or_an_http_client(module: str) -> None:
    if module not in ADAPTERS:
        assert imports(module) & NETWORK == set()


@pytest.mark.parametrize("module", sorted(PURE))
def test_the_pure_modules_import_no_adapter_root_face_or_powertools(module: str) -> None:
    assert (
        imports(module) & (ADAPTERS | FACES | {"runner", "sweep", "repository_sweep", "aws_lambda_powertools"}) == set()
    )


def test_only_the_composition_root_builds_adapters() -> None:
    # The sweep and the faces are handed their clients and adapters; runner.py builds them.
    builders = {
        m for m in MODULES if {"registry", "cursor", "in_use", "in_use_cache"} & imports(m) and m not in ADAPTERS
    }
    assert builders <= {"runner", "sweep", "repository_sweep"}
    for module in ("sweep", "repository_sweep"):
        assert "clients" not in imports(module)


def test_the_face_parts_render_only() -> None:
    for part in FACE_PARTS:
        assert imports(part) & (FACES | ADAPTERS | {"runner", "sweep", "repository_sweep", "planner"}) == set()


def test_every_face_goes_through_the_runner() -> None:
    for face in FACES:
        assert "runner" in imports(face)
        assert (
            imports(face) & {"sweep", "repository_sweep", "registry", "in_use", "in_use_cache", "cursor", "planner"}
            == set()
        )


def test_the_layers_cover_every_module() -> None:
    # A new module must find its place in ARCHITECTURE.md and here.
    placed = FACES | FACE_PARTS | ADAPTERS | PURE | {"runner", "sweep", "repository_sweep", "report", "observability"}
    assert set(MODULES) == placed
