"""The layers form a line: each package of chalicelib imports only the layers allowed below it.

    app.py -> http -> service -> dal -> records -> engine
    leaves every layer may use: observability, errors, config, privacy, resources

Every import counts, also those inside functions (they are paid on the request path all the same).
Nothing in chalicelib imports the local-only or offline code (devstack, infra, training, bench,
tests): the Lambda package contains none of it.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[2]
CHALICELIB = PROJECT_DIR / "chalicelib"

LEAVES = {"resources", "errors", "config", "privacy", "observability", "webhook_signing"}
# layer -> the chalicelib layers it may import (besides itself).
ALLOWED: dict[str, set[str]] = {
    "resources": set(),
    "engine": set(),
    "webhook_signing": set(),  # Standard Webhooks signing, the retry schedule, the address rule
    "errors": {"resources"},
    "privacy": {"engine"},
    "config": {"resources", "privacy"},
    "observability": {"resources", "config", "privacy"},
    "records": {"engine", "errors"},
    "audit_chain": {"records"},
    "dal": {"records", "engine", "audit_chain"} | LEAVES,
    "service": {"dal", "records", "engine", "audit_chain"} | LEAVES,
    "http": {"service", "dal", "records", "engine"} | LEAVES,
    "app": {"http", "service"} | LEAVES,
}
LOCAL_ONLY = ("devstack", "infra", "training", "bench", "tests")


def layer_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if parts[0] == "chalicelib" and len(parts) > 1 else parts[0]


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
            # ``from chalicelib import engine`` imports the layer named by the alias.
            if node.module == "chalicelib":
                modules.update(f"chalicelib.{alias.name}" for alias in node.names)
    return modules


def source_files() -> list[tuple[str, Path]]:
    files = [("app", PROJECT_DIR / "app.py")]
    for path in sorted(CHALICELIB.rglob("*.py")):
        relative = path.relative_to(PROJECT_DIR).with_suffix("")
        files.append((layer_of(".".join(relative.parts)), path))
    return [(layer, path) for layer, path in files if layer != "__init__"]


@pytest.mark.parametrize(("layer", "path"), source_files(), ids=lambda value: str(value))
def test_imports_follow_the_layers(layer: str, path: Path) -> None:
    wrong = []
    for module in imported_modules(path):
        top = module.split(".")[0]
        assert top not in LOCAL_ONLY, f"{path}: imports local-only {module}"
        if top != "chalicelib" or module == "chalicelib":
            continue
        target = layer_of(module)
        if target != layer and target not in ALLOWED[layer]:
            wrong.append(module)
    assert not wrong, f"{path.relative_to(PROJECT_DIR)} ({layer}) imports against the layers: {wrong}"


def test_the_rule_sees_a_violation(tmp_path: Path) -> None:
    """The check above can fail: a dal module importing the HTTP layer is caught."""
    module = tmp_path / "bad.py"
    module.write_text("def f():\n    from chalicelib.http.errors import json_response\n")
    assert "chalicelib.http.errors" in imported_modules(module)
    assert "http" not in ALLOWED["dal"]


def test_every_layer_is_known() -> None:
    assert {layer for layer, _ in source_files()} <= set(ALLOWED)


# The route declarations are imported on every cold start (app.py, the query validator, the OpenAPI
# document). Their reply records come from chalicelib.records and the engine's type modules, never from
# the services that build them, which import the holdout validation and the monitoring accumulator.
HEAVY_FOR_ROUTES = (
    "chalicelib.service.monitoring",
    "chalicelib.service.batches",
    "chalicelib.service.versions",
    "chalicelib.engine.monitoring",
    "chalicelib.engine.validation",
)


def modules_loaded_by(module: str) -> set[str]:
    """The chalicelib modules that importing ``module`` loads, in a fresh interpreter."""
    probe = f"import json, sys, {module}\n"
    probe += "print(json.dumps([m for m in sys.modules if m.startswith('chalicelib')]))"
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


def test_the_route_declarations_import_no_service_behind_their_records() -> None:
    loaded = modules_loaded_by("chalicelib.http.routes")
    assert "chalicelib.records" in loaded  # the probe saw the import
    assert not loaded & set(HEAVY_FOR_ROUTES), sorted(loaded & set(HEAVY_FOR_ROUTES))


def test_the_import_probe_sees_a_heavy_module() -> None:
    """The check above can fail: importing a service that builds reports loads the engine behind it."""
    assert {"chalicelib.service.monitoring", "chalicelib.engine.monitoring"} <= modules_loaded_by(
        "chalicelib.service.monitoring"
    )
