"""Split datamodel-code-generator's one models module so a resource imports only its own models.

Defining a pydantic model costs (metaclass, field collection, annotation evaluation), and a
client's first call needs the handful of models of one resource, not all of them. So the single
module datamodel-code-generator writes is cut into a package:

- every class goes to the submodule of the *set of resource modules* that need it (directly in
  a method's signature, or through the fields of a model they need). A dependency is needed by
  every resource its user is needed by, so imports between submodules only go from a smaller set
  to a larger one: no cycles. Classes no resource names (response envelopes, callback notices)
  share one submodule, ``other``.
- the package's ``__init__`` stays the one place every model is found by name: a module
  ``__getattr__`` imports the submodule on first access, ``__all__`` and a ``TYPE_CHECKING``
  block give type checkers and ``topview_async.types`` every name.

Each submodule imports the models its fields name before its classes, in the order
datamodel-code-generator wrote them (dependencies first), so annotations are evaluated as
the classes are defined, as in the single module.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from dataclasses import dataclass

OTHER = "other"


@dataclass(frozen=True)
class Group:
    module: str
    users: frozenset[str]
    classes: tuple[str, ...]  # in datamodel-code-generator's order


def _snake(name: str) -> str:
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", text).lower()


def _class_dependencies(classes: Mapping[str, ast.ClassDef]) -> dict[str, set[str]]:
    """Per class, the other generated classes its body names (fields, annotations, bases)."""
    return {
        name: {
            node.id
            for node in ast.walk(definition)
            if isinstance(node, ast.Name) and node.id in classes and node.id != name
        }
        for name, definition in classes.items()
    }


def _closure(start: set[str], dependencies: Mapping[str, set[str]]) -> set[str]:
    seen: set[str] = set()
    todo = sorted(start)
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(sorted(dependencies[name]))
    return seen


def _group(
    classes: Mapping[str, ast.ClassDef], resource_models: Mapping[str, set[str]]
) -> list[Group]:
    """The submodules: each class under the set of resource modules that need it."""
    dependencies = _class_dependencies(classes)
    needed = {
        module: _closure(names & classes.keys(), dependencies)
        for module, names in resource_models.items()
    }
    users = {
        name: frozenset(module for module, names in needed.items() if name in names)
        for name in classes
    }
    by_users: dict[frozenset[str], list[str]] = {}
    for name in classes:  # dicts keep datamodel-code-generator's class order
        by_users.setdefault(users[name], []).append(name)
    groups = []
    for members, names in by_users.items():
        if not members:
            module = OTHER
        elif len(members) == 1:
            (module,) = members
        else:  # named after a member, so the name does not move when unrelated models change
            module = "shared_" + _snake(min(names))
        groups.append(Group(module, members, tuple(names)))
    modules = [g.module for g in groups]
    if len(set(modules)) != len(modules):
        raise ValueError(f"two model submodules would share a name: {sorted(modules)}")
    return sorted(groups, key=lambda g: g.module)


def _module_source(
    header: str,
    tree: ast.Module,
    classes: Mapping[str, ast.ClassDef],
    lines: list[str],
    group: Group,
    home: Mapping[str, str],
) -> str:
    own = set(group.classes)
    used_names = {
        node.id
        for name in group.classes
        for node in ast.walk(classes[name])
        if isinstance(node, ast.Name)
    }
    if group.users:
        used_by = ", ".join(f"``{m}``" for m in sorted(group.users))
        doc = f"Models needed by the resource module(s) {used_by}."
    else:
        doc = "Models no resource method names: response envelopes, callback notices."
    out = [header, "", f'"""{doc}"""', ""]
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            future = node.module == "__future__"
            names = [a.name for a in node.names if future or a.name in used_names]
            if names:
                out.append(f"from {node.module} import {', '.join(names)}")
    siblings: dict[str, list[str]] = {}
    for name in sorted(used_names & classes.keys() - own):
        siblings.setdefault(home[name], []).append(name)
    for module, names in sorted(siblings.items()):
        out.append(f"from .{module} import {', '.join(names)}")
    for name in group.classes:
        node = classes[name]
        out += ["", "", *lines[node.lineno - 1 : node.end_lineno]]
    return "\n".join(out) + "\n"


def _index_source(header: str, groups: list[Group]) -> str:
    home = {name: g.module for g in groups for name in g.classes}
    out = [
        header,
        "",
        '"""Every generated model, found here by name; each is defined in a submodule.',
        "",
        "Models are grouped by the resource modules that need them (see ``codegen/_split.py``),",
        "and a submodule is imported on first access (module ``__getattr__``): a client's first",
        "call defines the models of the resource it uses, not every model of the API.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "from typing import TYPE_CHECKING, Any",
        "",
        "from ... import _lazy",
        "",
        "if TYPE_CHECKING:",
    ]
    out += [f"    from .{g.module} import {', '.join(sorted(g.classes))}" for g in groups]
    out += ["", "_MODULES = {"]
    out += [f'    "{name}": "{home[name]}",' for name in sorted(home)]
    out += ["}", "", "__all__ = ["]
    out += [f'    "{name}",' for name in sorted(home)]
    out += [
        "]",
        "",
        "",
        "def __getattr__(name: str) -> Any:",
        "    return _lazy.attribute(__name__, _MODULES, name, globals())",
        "",
        "",
        "def __dir__() -> list[str]:",
        "    return sorted({*globals(), *__all__})",
    ]
    return "\n".join(out) + "\n"


def split(header: str, source: str, resource_models: Mapping[str, set[str]]) -> dict[str, str]:
    """Module name (``__init__`` for the index) -> source, ruff still to run over each."""
    tree = ast.parse(source)
    lines = source.splitlines()
    covered = {
        line
        for node in tree.body
        for line in range(node.lineno, (node.end_lineno or node.lineno) + 1)
    }
    stray = [
        text
        for number, text in enumerate(lines, 1)
        if number not in covered and text.strip() and not text.startswith("#")
    ]
    if stray or any(not isinstance(n, ast.ClassDef | ast.ImportFrom) for n in tree.body):
        raise ValueError(f"unexpected top-level code in the generated models: {stray[:3]}")
    classes = {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}
    groups = _group(classes, resource_models)
    home = {name: g.module for g in groups for name in g.classes}
    files = {g.module: _module_source(header, tree, classes, lines, g, home) for g in groups}
    files["__init__"] = _index_source(header, groups)
    return files
