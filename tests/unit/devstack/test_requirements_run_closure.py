"""``make run`` installs only requirements-run.txt: that must be enough for every process it starts.

A fresh venv per test run would take minutes, so this is a static check: the import closure of the
modules ``devstack.run`` starts (the front door, the moto server, the ``chalice local`` wrapper with
``app.py``, the queue worker, the reconciler, and the edge module the app loads by name), followed
through the project's own modules, must only reach the standard library and distributions that
requirements-run.txt installs (its requirements and their dependencies, from the installed metadata).
"""

from __future__ import annotations

import ast
import importlib.metadata as metadata
import re
import sys
from pathlib import Path

from packaging.requirements import Requirement

from devstack.processes import PROJECT_ROOT

# The entry points of devstack.run's children (python -m ...), plus modules loaded by name at run time.
ENTRY_MODULES = [
    "devstack.run",
    "devstack.moto_server",
    "devstack.chalice_local",
    "app",  # what chalice local serves and the worker and reconciler invoke
    "devstack.sqs_poller",
    "devstack.reconciler_timer",
    "devstack.gateway",  # LOCAL_EDGE_MODULE in the local stage, imported by chalicelib.http.edge
]
PROJECT_PACKAGES = {"app", "devstack", "chalicelib"}


def _module_path(module: str) -> Path | None:
    base = PROJECT_ROOT.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


def _is_type_checking_block(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")
    )


def _imports(path: Path) -> set[str]:
    """Every module an import statement in ``path`` names, function-level (lazy) imports included."""
    found: set[str] = set()
    pending: list[ast.AST] = [ast.parse(path.read_text(), filename=str(path))]
    while pending:
        node = pending.pop()
        if _is_type_checking_block(node):
            continue  # never executed at run time
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
            # `from devstack import bootstrap` imports a submodule: follow it as well.
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        pending.extend(ast.iter_child_nodes(node))
    return found


def third_party_imports() -> dict[str, set[str]]:
    """{top-level third-party module: the project modules importing it} over the import closure."""
    seen: set[str] = set()
    pending = list(ENTRY_MODULES)
    external: dict[str, set[str]] = {}
    while pending:
        module = pending.pop()
        if module in seen:
            continue
        seen.add(module)
        path = _module_path(module)
        assert path is not None, f"{module} is not a module of the project"
        for imported in _imports(path):
            top = imported.split(".")[0]
            if top in PROJECT_PACKAGES:
                if _module_path(imported) is not None:
                    pending.append(imported)
            elif top not in sys.stdlib_module_names and top != "__future__":
                external.setdefault(top, set()).add(module)
    return external


def _requirement_lines(path: Path) -> list[str]:
    lines: list[str] = []
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line.startswith("-r "):
            lines += _requirement_lines(path.parent / line[3:].strip())
        elif line:
            lines.append(line)
    return lines


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def installed_closure(requirement_file: Path) -> set[str]:
    """Canonical names of the distributions installing ``requirement_file`` brings (deps included)."""
    closure: set[str] = set()
    pending = [(Requirement(line), "") for line in _requirement_lines(requirement_file)]
    while pending:
        requirement, from_extra = pending.pop()
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": from_extra}):
            continue
        name = _canonical(requirement.name)
        extras = sorted(requirement.extras)
        key = f"{name}[{','.join(extras)}]"
        if key in closure:
            continue
        closure.update({key, name})
        for dependency in metadata.requires(requirement.name) or []:
            dependency_requirement = Requirement(dependency)
            marker = dependency_requirement.marker
            if marker is None or marker.evaluate({"extra": ""}):
                pending.append((dependency_requirement, ""))
            else:
                # A dependency of one of the requested extras (e.g. moto[server] -> flask).
                pending.extend(
                    (dependency_requirement, extra) for extra in extras if marker.evaluate({"extra": extra})
                )
    return {name for name in closure if "[" not in name}


def test_requirements_run_installs_every_distribution_the_local_stack_imports() -> None:
    allowed = installed_closure(PROJECT_ROOT / "requirements-run.txt")
    distributions = metadata.packages_distributions()
    missing = {
        module: sorted(importers)
        for module, importers in third_party_imports().items()
        if not any(_canonical(dist) in allowed for dist in distributions.get(module, []))
    }
    assert missing == {}, f"imported at run time but not installed by requirements-run.txt: {missing}"


def test_the_closure_check_sees_lazy_and_submodule_imports() -> None:
    # The check must reach what the stack really imports, lazily or through a submodule import:
    # jwt (devstack.staff_auth, pulled in by the app), moto (the server) and chalice (the wrapper).
    imported = third_party_imports()
    assert {"jwt", "moto", "chalice", "boto3", "aws_lambda_powertools"} <= imported.keys(), imported
    assert "sklearn" not in imported  # training only: requirements-dev.txt


def test_dev_requirements_include_the_run_requirements() -> None:
    # `make test` after `make run` installs only the rest: the dev set is a superset by inclusion.
    assert "-r requirements-run.txt" in (PROJECT_ROOT / "requirements-dev.txt").read_text().splitlines()
    run = installed_closure(PROJECT_ROOT / "requirements-run.txt")
    assert "scikit-learn" not in run and "pytest" not in run and "cfn-lint" not in run
