"""pyproject.toml's extras, one per service role: each role's code imports nothing
beyond the core and its own extra, and nothing is declared that nothing imports."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from functools import cache
from importlib.metadata import PackageNotFoundError, packages_distributions, requires
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import REPO_ROOT

PROJECT = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
SRC = REPO_ROOT / "src"

# What every role loads: the command line itself (not its commands) and the shared modules.
CORE = ["fraudlake.cli", "fraudlake.settings", "fraudlake.cdc", "fraudlake.schema", "fraudlake.envfile"]
# role -> the modules its image or command runs; with their function-level imports (a
# command imports its heavy parts when run), their import closure must fit the role's extra.
ROLES = {
    "core": [],
    "stack": ["fraudlake.cli", "fraudlake.stack", "fraudlake.stack.connect"],
    "api": ["fraudlake.api.app", "fraudlake.api.cli"],
    "producer": ["fraudlake.producer.*", "fraudlake.stack.connect"],
    "spark": ["fraudlake.lakehouse.*", "fraudlake.prediction.*", "fraudlake.streaming.*", "fraudlake.alerts.*",
              "fraudlake.spark"],
    "train": ["fraudlake.model.*"],
    "dashboard": ["fraudlake.dashboard.*"],
    "scheduled": ["fraudlake.quality", "fraudlake.orchestration", "fraudlake.lakehouse.*", "fraudlake.model.*"],
}
# Declared for what they do, not imported: a pytest plugin and the notebooks' kernel.
NOT_IMPORTED = {"pytest-timeout", "ipykernel"}


def _module_file(name: str) -> Path | None:
    path = SRC.joinpath(*name.split("."))
    for candidate in (path / "__init__.py", path.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def _expand(pattern: str) -> list[str]:
    if not pattern.endswith(".*"):
        return [pattern]
    package = pattern[:-2]
    folder = SRC.joinpath(*package.split("."))
    return [package] + [f"{package}.{path.stem}" for path in folder.glob("*.py") if path.stem != "__init__"]


def _imports(name: str, *, module_level: bool) -> set[str]:
    """Modules `name` imports: at module level only, or everywhere (functions too)."""
    path = _module_file(name)
    tree = ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(nodes):
        for node in nodes:
            if module_level and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                continue
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(parts + ([node.module] if node.module else []))
                found.add(base)
                found.update(f"{base}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                continue
            visit(ast.iter_child_nodes(node))

    visit(tree.body)
    return found


def _third_party(entries: list[str], module_level_entries: list[str]) -> dict[str, str]:
    """Top-level third-party import names the entries need -> a module that imports it.

    Follows fraudlake modules through their module-level imports; the entries' own
    function-level imports count too (a command imports its heavy parts when run)."""
    needed: dict[str, str] = {}
    seen: set[tuple[str, bool]] = set()
    # (module, whether it is an entry, the module that imports it)
    todo = [(entry, True, entry) for pattern in entries for entry in _expand(pattern)]
    todo += [(entry, False, entry) for entry in module_level_entries if entry not in entries]
    while todo:
        name, is_entry, importer = todo.pop()
        if name.split(".")[0] != "fraudlake":
            top = name.split(".")[0]
            if top and top not in sys.stdlib_module_names:
                needed.setdefault(top, importer)
            continue
        # An entry reached first as another module's import is visited again as an entry,
        # since its function-level imports count too.
        if (name, is_entry) in seen or (name, True) in seen or _module_file(name) is None:
            continue
        seen.add((name, is_entry))
        parts = name.split(".")
        todo.extend((".".join(parts[:i]), False, name) for i in range(2, len(parts)))
        todo.extend((imported, False, name) for imported in _imports(name, module_level=not is_entry))
    return needed


def _declared(role: str) -> set[str]:
    """Distributions the role gets: core, its extra, and extras it names (fraudlake[x])."""
    names = {canonicalize_name(Requirement(r).name) for r in PROJECT["dependencies"]}
    pending, done = [role], set()
    while pending:
        extra = pending.pop()
        if extra in done or extra == "core":
            continue
        done.add(extra)
        for spec in PROJECT["optional-dependencies"][extra]:
            requirement = Requirement(spec)
            if canonicalize_name(requirement.name) == "fraudlake":
                pending.extend(requirement.extras)
            else:
                names.add(canonicalize_name(requirement.name))
    return names


@cache
def _requirements_of(dist: str) -> frozenset[str]:
    try:
        specs = requires(dist) or []
    except PackageNotFoundError:
        return frozenset()
    out = set()
    for spec in specs:
        requirement = Requirement(spec)
        if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
            out.add(canonicalize_name(requirement.name))
    return frozenset(out)


def _installed_with(declared: set[str]) -> set[str]:
    """The declared distributions and everything they require, transitively."""
    closure, pending = set(), list(declared)
    while pending:
        dist = pending.pop()
        if dist not in closure:
            closure.add(dist)
            pending.extend(_requirements_of(dist))
    return closure


@cache
def _distributions() -> dict[str, list[str]]:
    return packages_distributions()


@pytest.mark.parametrize("role", ROLES)
def test_each_role_imports_only_the_core_and_its_own_extra(role):
    distributions = _distributions()
    available = _installed_with(_declared(role))
    for name, importer in _third_party(ROLES[role], CORE).items():
        owners = {canonicalize_name(dist) for dist in distributions.get(name, [])}
        assert owners, f"{importer} imports {name}, which no installed distribution provides"
        assert owners & available, f"{importer} imports {name} ({', '.join(owners)}), not in the {role} extra"


def test_every_declared_distribution_is_imported_somewhere():
    sources = [*SRC.rglob("*.py"), *REPO_ROOT.glob("services/*/*.py"), *REPO_ROOT.glob("spark/app/*.py"),
               *REPO_ROOT.glob("bench/*.py"), *REPO_ROOT.glob("tests/**/*.py")]
    imported = set()
    for path in sources:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                imported.add(node.module.split(".")[0])
    for notebook in REPO_ROOT.glob("notebooks/*.ipynb"):
        imported.update(re.findall(r"(?:^|\\n|\")\s*(?:import|from) (\w+)", notebook.read_text()))
    provided = {canonicalize_name(dist) for name in imported for dist in _distributions().get(name, [])}
    declared = set().union(*(_declared(role) for role in PROJECT["optional-dependencies"]))
    unused = declared - provided - NOT_IMPORTED
    assert not unused, f"declared in pyproject.toml but imported nowhere: {sorted(unused)}"


# Declared for a dependency's sake rather than imported by the role's own code.
FOR_A_DEPENDENCY = {("spark", "pandas")}  # pyspark 4.0's pandas API and testing need pandas 2


@pytest.mark.parametrize("role", [role for role in ROLES if role != "core"])
def test_each_extra_declares_only_what_its_role_imports(role):
    imported = {canonicalize_name(dist) for name in _third_party(ROLES[role], CORE)
                for dist in _distributions().get(name, [])}
    own = {canonicalize_name(Requirement(spec).name) for spec in PROJECT["optional-dependencies"][role]} - {"fraudlake"}
    unused = {dist for dist in own - imported if (role, dist) not in FOR_A_DEPENDENCY}
    assert not unused, f"the {role} extra declares {sorted(unused)}, which its code does not import"
