"""The package source files each `genoflow <command>` runs, found from the code's own imports.

The workflow hashes them into each rule's params (`code_version`), so editing a module reruns
exactly the stages that import it (and, through their outputs, what follows): editing the C
kernels reruns ingest and preprocess, not training. Nothing is listed by hand: a command's
modules are the genoflow imports of its handler in genoflow/commands/ (and the module-level
imports of that module and of cli.py), followed
transitively through every import statement of every module reached, wherever it stands in
the module (imports inside functions count). Standard library only: the workflow imports this
module before any job runs.
"""

from __future__ import annotations

import ast
import hashlib
from functools import cache
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
ROOT = PACKAGE.parent
# Files that are not Python modules but that a module runs: the kernels' C source, the
# report's template.
COMPANIONS = {
    "genoflow.kernels": ("kernels.c",),
    "genoflow.report.html": ("report/templates/report.html.j2",),
}


def _path(module: str) -> Path | None:
    """The source file of a genoflow module (a package: its __init__.py), if there is one."""
    base = ROOT.joinpath(*module.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _imports(tree: ast.AST, module: str) -> set[str]:
    """genoflow modules named by the import statements anywhere in `tree`."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("genoflow")}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if not node.module.startswith("genoflow"):
                continue
            found.add(node.module)
            for alias in node.names:  # `from genoflow.report import figures`: a module
                if _path(f"{node.module}.{alias.name}") is not None:
                    found.add(f"{node.module}.{alias.name}")
    # Importing genoflow.a.b runs genoflow/__init__.py and genoflow/a/__init__.py first.
    parents = {
        ".".join(name.split(".")[:i]) for name in found for i in range(1, name.count(".") + 1)
    }
    return {name for name in found | parents if _path(name) is not None} - {module}


@cache
def _closure(module: str) -> frozenset[str]:
    seen, todo = set(), [module]
    while todo:
        name = todo.pop()
        if name in seen or (path := _path(name)) is None:
            continue
        seen.add(name)
        todo += sorted(_imports(ast.parse(path.read_text()), name) - seen)
    return frozenset(seen)


def command_modules(command: str) -> list[str]:
    """The genoflow modules `genoflow <command>` runs: its handler's imports and the top-level
    imports of its command module and of cli, with everything they import in turn."""
    handler = "cmd_" + command.replace("-", "_")
    for path in sorted((PACKAGE / "commands").glob("*.py")):
        tree = ast.parse(path.read_text())
        found = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == handler]
        if found:
            break
    else:
        raise KeyError(f"no command {command!r} in genoflow.commands")
    home = f"genoflow.commands.{path.stem}"
    cli = ast.parse((PACKAGE / "cli.py").read_text())
    entries = _imports(found[0], home) | _imports(_top(tree), home) | _imports(_top(cli), "")
    # cli.py, the package and the handler's module count as files, but not the imports of the
    # other handlers they hold or gather (that would make every command depend on all)
    own = {"genoflow.cli", "genoflow.commands", home}
    entries = {name for name in entries if not name.startswith("genoflow.commands")}
    entries.add("genoflow.commands.common")
    return sorted(own.union(*(_closure(name) for name in entries)))


def _top(tree: ast.Module) -> ast.Module:
    """The module-level `from ... import` statements of a module."""
    return ast.Module(body=[n for n in tree.body if isinstance(n, ast.ImportFrom)], type_ignores=[])


def command_files(command: str) -> list[Path]:
    """The files of command_modules, with the non-Python files those modules run."""
    files = []
    for module in command_modules(command):
        files.append(_path(module))
        files += [PACKAGE / companion for companion in COMPANIONS.get(module, ())]
    return files


def code_version(command: str) -> str:
    """A digest of every file `genoflow <command>` runs (16 hex digits)."""
    digest = hashlib.sha256()
    for path in command_files(command):
        digest.update(str(path.relative_to(PACKAGE)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]
