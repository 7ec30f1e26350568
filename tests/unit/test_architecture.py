"""The layers import what the design lets them: the domain and the use cases nothing but the
standard library (and the layers under them), the HTTP edge no adapter, and the whole package
nothing that `pip install -e .` does not install (no test package at run time)."""

from __future__ import annotations

import ast
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "sono"

# The import name of each runtime dependency (and of the packages they bring in that Sono uses).
IMPORT_NAMES = {
    "litestar": {"litestar"},
    "msgspec": {"msgspec"},
    "uvicorn": {"uvicorn"},
    "sqlalchemy": {"sqlalchemy"},
    "alembic": {"alembic"},
    "asyncpg": {"asyncpg"},
    "aiosqlite": {"aiosqlite"},
    "aioboto3": {"aioboto3", "aiobotocore", "botocore"},
    "argon2-cffi": {"argon2"},
    "pyjwt": {"jwt"},
    "cryptography": {"cryptography"},
    "mutagen": {"mutagen"},
    "pillow": {"PIL"},
    "redis": {"redis"},
    "limits": {"limits"},
    "aiosmtplib": {"aiosmtplib"},
    "python-dotenv": {"dotenv"},
    "python-multipart": {"python_multipart"},
    "swagger-ui-py": {"swagger_ui"},
    "prometheus-client": {"prometheus_client"},
    "saq": {"saq"},
}

# Optional extras: their import names, allowed only in the modules that load them on demand.
OPTIONAL_IMPORTS = {
    "opentelemetry": {"adapters/tracing.py", "entrypoints/http/tracing.py"},  # the otel extra
}


def imported_modules(folder: Path) -> dict[str, set[str]]:
    """Every absolute module each file under ``folder`` imports (at any depth, typing-only
    imports included), by file."""
    found: dict[str, set[str]] = {}
    for path in sorted(folder.rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module)
        found[str(path.relative_to(PACKAGE))] = names
    return found


def outside(imports: dict[str, set[str]], allowed: tuple[str, ...]) -> dict[str, list[str]]:
    """The imports of each file that are neither the standard library nor under ``allowed``."""
    refused = {}
    for file, names in imports.items():
        bad = sorted(
            name for name in names if name.split(".")[0] not in sys.stdlib_module_names and not name.startswith(allowed)
        )
        if bad:
            refused[file] = bad
    return refused


def test_the_domain_imports_only_the_standard_library() -> None:
    assert outside(imported_modules(PACKAGE / "domain"), ("sono.domain",)) == {}


def test_the_use_cases_import_only_the_standard_library_and_the_domain() -> None:
    assert outside(imported_modules(PACKAGE / "application"), ("sono.domain", "sono.application")) == {}


def test_the_http_edge_reaches_adapters_only_through_the_composition_root() -> None:
    imports = imported_modules(PACKAGE / "entrypoints" / "http")
    assert {file: sorted(n for n in names if n.startswith("sono.adapters")) for file, names in imports.items()} == {
        file: [] for file in imports
    }


def test_the_http_edge_resolves_no_media_url_itself() -> None:
    """The queries answer read models with every URL resolved through the media port (issue 13):
    the edge maps them, it neither imports the media service nor reaches the container's."""
    imports = imported_modules(PACKAGE / "entrypoints" / "http")
    service = "sono.application.media.service"
    assert {file: sorted(n for n in names if n.startswith(service)) for file, names in imports.items()} == {
        file: [] for file in imports
    }
    reached = []
    for path in sorted((PACKAGE / "entrypoints" / "http").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Attribute) and node.attr == "media" and isinstance(node.value, ast.Name):
                reached.append(f"{path.relative_to(PACKAGE)}:{node.lineno}: {node.value.id}.media")
    assert reached == []


def test_the_package_imports_only_its_runtime_dependencies() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    distributions = {
        requirement.split("[")[0].split(">")[0].split("<")[0].split("=")[0].strip().lower() for requirement in declared
    }
    assert distributions == set(IMPORT_NAMES), "a dependency was added or removed: map its import name here"
    allowed = tuple(sorted({"sono", *(name for names in IMPORT_NAMES.values() for name in names)}))
    refused = outside(imported_modules(PACKAGE), allowed)
    for file in list(refused):
        refused[file] = [n for n in refused[file] if file not in OPTIONAL_IMPORTS.get(n.split(".")[0], ())]
        if not refused[file]:
            del refused[file]
    assert refused == {}


@pytest.mark.parametrize("package", ["pytest", "hypothesis", "moto", "httpx", "schemathesis", "aiosmtpd", "flask"])
def test_no_test_package_is_imported_at_run_time(package: str) -> None:
    users = [
        file for file, names in imported_modules(PACKAGE).items() if any(n.split(".")[0] == package for n in names)
    ]
    assert users == []


def module_imports(package: Path) -> dict[str, set[str]]:
    """The modules of ``package`` each of its modules imports when it is loaded or type checked:
    at module level, under ``if TYPE_CHECKING:`` (and any other ``if``/``try``) too, not in a
    function. ``from a import b`` counts as importing ``a.b`` when that is a module, else ``a``."""
    base = package.parent
    while (base / "__init__.py").exists():  # module names start at the top-level package
        base = base.parent
    modules: dict[str, Path] = {}
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(base).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path

    def known(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        here = module if path.name == "__init__.py" else module.rpartition(".")[0]
        targets: set[str | None] = set()
        body = list(ast.parse(path.read_text(encoding="utf-8"), str(path)).body)
        while body:
            node = body.pop()
            if isinstance(node, ast.Import):
                targets.update(known(alias.name) for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                start = ".".join(here.split(".")[: len(here.split(".")) - node.level + 1]) if node.level else ""
                source = ".".join(part for part in (start, node.module) if part)
                targets.update(known(f"{source}.{alias.name}") for alias in node.names)
            elif isinstance(node, ast.If | ast.Try):
                body += node.body + node.orelse
                body += [n for handler in getattr(node, "handlers", ()) for n in handler.body]
                body += getattr(node, "finalbody", [])
        graph[module] = {t for t in targets if t is not None and t != module}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted: every
    module of one imports, through the others, itself."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = [stack.pop()]
            while component[-1] != node:
                component.append(stack.pop())
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_circle_of_imports() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"d"}}
    assert cycles(graph) == [["a", "b", "c"]]


def test_the_module_graph_sees_typing_only_and_relative_imports(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("")
    typing_only = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.sub import two\n"
    (package / "one.py").write_text(typing_only)
    (package / "sub" / "two.py").write_text("from ..one import thing\n\ndef f():\n    import pkg.sub\n")
    assert module_imports(package)["pkg.one"] == {"pkg.sub.two"}
    assert module_imports(package)["pkg.sub.two"] == {"pkg.one"}
    assert cycles(module_imports(package)) == [["pkg.one", "pkg.sub.two"]]


def test_the_use_cases_import_one_another_without_a_circle() -> None:
    """Imports in the application go one way (issue 13): shared values (``values``) below the ports,
    the ports below the unit of work, the unit of work below what uses it (``common``, the bus);
    each feature's read models below the ports and messages that name them."""
    assert cycles(module_imports(PACKAGE / "application")) == []
