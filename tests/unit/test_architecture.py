"""The layers, read from the code's imports (docs: Architecture).

lambda/ecr_sweeper/ has one folder per layer, and arrows run downwards only:

    faces/  the Lambda face, the Step Functions steps, the command line and its views: render values
    run/    the one composition root (runner), the sweep, the records and Powertools
    aws/    the adapters: clients, ECR, state, the in-use sources, Kubernetes, the cache
    core/   pure decisions and values: no AWS call, no Powertools, no terminal

The entry modules at the package root (handler, stepfunctions, cli, __main__) stay where deployed
stacks and users find them, and only import the faces. infra/ may import core/, never the run, the
renderer or Powertools.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "lambda" / "ecr_sweeper"
LAYERS = ("faces", "run", "aws", "core")
ENTRY = {"ecr_sweeper.handler", "ecr_sweeper.stepfunctions", "ecr_sweeper.cli", "ecr_sweeper.__main__"}
NETWORK = {"boto3", "botocore", "urllib3", "requests", "http", "socket"}
MAX_LINES = 400


def _name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 and parts[1] in LAYERS else None


@cache
def imports(module: str) -> frozenset[str]:
    """What `module` imports: ecr_sweeper modules by their dotted name, anything else by its top package."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(MODULES[module].read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name if alias.name in MODULES else alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module.startswith("ecr_sweeper"):
                # `from ecr_sweeper.run import runner` imports the module ecr_sweeper.run.runner
                found |= {
                    f"{node.module}.{alias.name}" for alias in node.names if f"{node.module}.{alias.name}" in MODULES
                }
                if not any(f"{node.module}.{alias.name}" in MODULES for alias in node.names):
                    found.add(node.module)
            else:
                found.add(node.module.split(".")[0])
    return frozenset(found)


def ours(module: str) -> set[str]:
    return {name for name in imports(module) if name.startswith("ecr_sweeper")}


def test_every_module_lives_in_a_layer_folder_or_is_an_entry_point() -> None:
    # Given every module of the package, then each is in faces/, run/, aws/ or core/, or is an entry module
    stray = [m for m in MODULES if layer(m) is None and m not in ENTRY and m != "ecr_sweeper" and m.count(".") > 0]
    stray = [m for m in stray if m.split(".")[1] not in LAYERS]
    assert stray == []


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_point_down_only(module: str) -> None:
    # Given a module's imports of the package
    targets = ours(module) - {"ecr_sweeper"}
    if module in ENTRY:
        # Then an entry module imports only the faces (or another entry module)
        assert {layer(t) for t in targets - ENTRY} <= {"faces"}
        return
    here = layer(module)
    if here is None:
        assert targets == set()
        return
    # Then it imports its own layer or those below it, never one above
    above = {t for t in targets if layer(t) in LAYERS[: LAYERS.index(here)]}
    assert above == set()


def test_the_modules_import_no_cycle() -> None:
    # Given the import graph between the package's modules
    graph = {m: ours(m) & set(MODULES) - {m} for m in MODULES}
    # When it is walked depth first, then no module is reached again while it is being walked
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                cycles.append([*path[path.index(target) :], target] if target in path else [module, target])
            elif target not in state:
                visit(target, [*path, target])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert cycles == []


@pytest.mark.parametrize("module", sorted(MODULES))
def test_only_the_adapters_reach_the_network(module: str) -> None:
    # Given a module outside the adapters (aws/)
    if layer(module) != "aws":
        # Then it imports no network library: not boto3, botocore, urllib3, requests, http or socket
        assert imports(module) & NETWORK == set()


@pytest.mark.parametrize("module", sorted(m for m in MODULES if layer(m) == "core"))
def test_the_core_is_pure(module: str) -> None:
    # Given a module of core/
    # No adapter, no run, no face (checked above), and no Powertools or terminal library either.
    # Then it imports neither Powertools nor rich
    assert imports(module) & {"aws_lambda_powertools", "rich"} == set()


@pytest.mark.parametrize("module", sorted(MODULES))
def test_only_the_run_and_the_function_faces_use_powertools_and_only_the_command_line_rich(module: str) -> None:
    # Given a module and the libraries it imports
    if "aws_lambda_powertools" in imports(module):
        # Then if it uses Powertools, it is in run/ or is the function face or the steps face
        assert layer(module) == "run" or module in ("ecr_sweeper.faces.function", "ecr_sweeper.faces.steps")
    # And if it uses rich, it is part of the command line face
    if "rich" in imports(module):
        assert module.startswith("ecr_sweeper.faces.cli")


@pytest.mark.parametrize("module", sorted(m for m in MODULES if layer(m) == "faces"))
def test_the_faces_never_build_a_client_or_an_adapter(module: str) -> None:
    # Given a module of faces/ and the package modules it imports
    # The faces hand the runner what they were given (a profile, regions, an endpoint, the context).
    # Then none of them is an adapter in aws/
    assert {t for t in ours(module) if layer(t) == "aws"} == set()


def test_no_face_imports_another_face() -> None:
    # Given the three faces and the prefix of their modules
    faces = {
        "function": "ecr_sweeper.faces.function",
        "steps": "ecr_sweeper.faces.steps",
        "cli": "ecr_sweeper.faces.cli",
    }

    # When the modules of each face are read, then none imports a module of another face
    for face, prefix in faces.items():
        for module in (m for m in MODULES if m.startswith(prefix)):
            others = [p for f, p in faces.items() if f != face]
            assert not [t for t in ours(module) if t.startswith(tuple(others))], module


def test_only_the_composition_root_builds_adapters() -> None:
    # Given the classes the adapters define
    adapters = {
        node.name
        for module, path in MODULES.items()
        if layer(module) == "aws"
        for node in ast.parse(path.read_text()).body
        if isinstance(node, ast.ClassDef) and not node.name.endswith(("Error", "Failed", "Unusable"))
    }
    # Then outside aws/, only the composition root calls one of them: the runner, and its in-use part
    builders = {
        module
        for module, path in MODULES.items()
        if layer(module) != "aws"
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in adapters
    }
    values = {"InUse", "ImmutableFacts", "ScanOptions", "FunctionCode", "Account"}
    assert adapters - values >= {"Clients", "EcrRegistry", "SsmCursor", "WorkBucket", "InUseCacheStore", "Source"}
    assert builders <= {"ecr_sweeper.run.runner", "ecr_sweeper.run.scanning"}


@pytest.mark.parametrize("path", sorted([*PACKAGE.rglob("*.py"), *(ROOT / "infra").rglob("*.py")]), ids=str)
def test_no_module_is_longer_than_400_lines(path: Path) -> None:
    # Given a module of lambda/ecr_sweeper/ or infra/
    # Then it has at most 400 lines
    assert len(path.read_text().splitlines()) <= MAX_LINES


@pytest.mark.parametrize("path", sorted((ROOT / "infra").rglob("*.py")), ids=lambda p: p.name)
def test_the_stack_imports_only_the_core(path: Path) -> None:
    # Given a module of infra/
    # infra/ shares the core's names and validators, never the run, the renderer or Powertools.
    # When the ecr_sweeper modules it imports from are collected
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("ecr_sweeper"):
            found.add(node.module)

    # Then every one of them is in core/
    assert {m for m in found if not m.startswith("ecr_sweeper.core")} == set()
