"""The package's layout holds: the import contracts, no cycles, no private names across
modules, and no module outside the layers contract."""

import ast
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "stationplan"


def _skip_or_fail(reason: str) -> None:
    if os.environ.get("STATIONPLAN_STRICT"):
        pytest.fail(reason)
    pytest.skip(reason)


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _sources() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_module(package: str, name: str) -> bool:
    """Whether ``package.name`` is a module (a file or a folder), found without importing."""
    top, *rest = package.split(".")
    if top == "stationplan":
        locations = [str(ROOT / "stationplan")]
    else:
        spec = importlib.util.find_spec(top)
        locations = list(spec.submodule_search_locations or []) if spec else []
    for folder in locations:
        base = Path(folder, *rest, name)
        if base.with_suffix(".py").exists() or (base / "__init__.py").exists():
            return True
    return False


def test_import_contracts_are_kept():
    exe = shutil.which("lint-imports")
    if exe is None:
        _skip_or_fail("import-linter is not installed (pip install -e '.[test]')")
    # PYTHONPATH: lint the package in this checkout, not an installed copy elsewhere
    path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "PYTHONPATH": path}
    out = subprocess.run([exe], cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stdout + out.stderr


def test_no_import_cycles():
    grimp = pytest.importorskip("grimp")
    nx = pytest.importorskip("networkx")
    sys.path.insert(0, str(ROOT))
    try:
        graph = grimp.build_graph("stationplan", exclude_type_checking_imports=True,
                                 cache_dir=None)
    finally:
        sys.path.remove(str(ROOT))
    digraph = nx.DiGraph()
    for module in graph.modules:
        digraph.add_node(module)
        digraph.add_edges_from((module, other)
                               for other in graph.find_modules_directly_imported_by(module))
    cycles = [sorted(c) for c in nx.strongly_connected_components(digraph) if len(c) > 1]
    assert cycles == []


def test_no_private_names_imported_across_modules():
    found = []
    for name, path in _sources().items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ImportFrom):
                continue
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                source = f"{base}.{node.module}" if node.module else base
            else:
                source = node.module or ""
            for alias in node.names:
                private = alias.name.startswith("_") and not alias.name.endswith("__")
                if private and not _is_module(source, alias.name):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}: "
                                 f"from {source} import {alias.name}")
    assert found == []


def test_every_module_is_in_a_layer():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    layers = [c for c in contracts if c["type"] == "layers"]
    assert len(layers) == 1
    listed = {m.strip() for line in layers[0]["layers"]
              for m in line.replace("|", ":").split(":")}
    sources = _sources()
    unknown = sorted(m for m in listed if m not in sources)
    assert unknown == [], "layers name modules that do not exist"
    missing = []
    for name, path in sources.items():
        if name == "stationplan" or any(name == m or name.startswith(m + ".") for m in listed):
            continue
        # a subpackage's __init__ that imports nothing is only a namespace for its modules
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if path.name == "__init__.py" and not any(
                isinstance(n, ast.Import | ast.ImportFrom) for n in ast.walk(tree)):
            continue
        missing.append(name)
    assert missing == [], "add these modules to the layers contract in pyproject.toml"


# Imports that only an optional command needs: the extra that installs them.
_OPTIONAL_IMPORTS = {"dask": "batch", "distributed": "batch", "pyrosm": "demo"}


def _third_party_imports() -> dict[str, set[str]]:
    """Top-level name of every module the package imports (anywhere in a file: deferred
    imports too) that is neither the standard library nor stationplan -> the files."""
    found: dict[str, set[str]] = {}
    for module, path in _sources().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top != "stationplan":
                    found.setdefault(top, set()).add(module)
    return found


def _normal(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def test_every_package_the_library_imports_is_installed_with_it():
    """A plain ``pip install stationplan`` brings every package the library imports,
    except the optional commands' (their extra brings them). pyarrow was once only a test
    requirement: a city above the GeoParquet size then ended in an internal error after
    the whole run."""
    from importlib.metadata import packages_distributions

    from packaging.requirements import Requirement

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    core = {_normal(Requirement(r).name) for r in project["dependencies"]}
    extras = {extra: {_normal(Requirement(r).name) for r in reqs}
              for extra, reqs in project["optional-dependencies"].items()}
    dists = packages_distributions()
    missing = []
    for top, modules in sorted(_third_party_imports().items()):
        # a module not installed here (tomli on Python 3.11+) is named as its package
        names = {_normal(d) for d in dists.get(top, [top])}
        wanted = extras[_OPTIONAL_IMPORTS[top]] if top in _OPTIONAL_IMPORTS else core
        if not names & wanted:
            missing.append(f"{top} ({', '.join(sorted(modules))})")
    assert not missing, f"imported but not a dependency: {missing}"
    assert "pyarrow" in core and "dask" not in core  # the scan sees what it should
