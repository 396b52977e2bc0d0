"""The spec, the generated code and the generator agree with each other."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

import topview_async._generated.models as models
import topview_async.resources as resources
from topview_async._generated.operations import OPERATIONS
from topview_async._generated.task_kinds import TASK_KINDS

# The C loader when PyYAML has it: the spec is large and the pure-Python one is slow.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

ROOT = Path(__file__).resolve().parents[2]
SPEC_PATH = ROOT / "openapi" / "topview.yaml"
SPEC: dict[str, Any] = yaml.load(SPEC_PATH.read_text(encoding="utf-8"), Loader=_YAML_LOADER)
SCHEMAS: dict[str, Any] = SPEC["components"]["schemas"]
HTTP_METHODS = ("get", "post", "put", "delete", "patch")


def _spec_operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, item[method])
        for path, item in SPEC["paths"].items()
        for method in HTTP_METHODS
        if method in item
    ]


def _resource_classes() -> dict[str, type]:
    return {name: getattr(resources, name) for name in resources.__all__}


def _public_methods(cls: type) -> dict[str, Any]:
    return {
        name: member
        for name, member in vars(cls).items()
        if inspect.iscoroutinefunction(member) and not name.startswith("_")
    }


def test_every_operation_has_a_generated_method() -> None:
    tags = {tag["name"]: tag for tag in SPEC["tags"]}
    classes = _resource_classes()
    for path, method, operation in _spec_operations():
        if operation.get("x-sdk-skip"):
            continue
        tag = tags[operation["tags"][0]]
        cls = classes[tag["x-sdk-class"] + "Resource"]
        stub = getattr(cls, operation["x-sdk-method"], None)
        assert stub is not None, f"{operation['operationId']} has no method on {cls.__name__}"
        generated = OPERATIONS[operation["operationId"]]
        assert (generated.method, generated.path) == (method.upper(), path)
        assert operation["operationId"] in inspect.getsource(stub)


def test_every_generated_method_maps_to_an_operation() -> None:
    spec_ids = {op["operationId"] for _, _, op in _spec_operations()}
    assert set(OPERATIONS) <= spec_ids
    for cls in _resource_classes().values():
        for name, method in _public_methods(cls).items():
            source = inspect.getsource(method)
            called = [op_id for op_id in OPERATIONS if f"operation ``{op_id}``" in source]
            if name.startswith("run") or name.endswith("_and_wait"):
                # run()/x_and_wait() delegate to the submit method of the same operation.
                assert "await self." in source, name
                continue
            assert len(called) == 1, f"{cls.__name__}.{name} maps to {called}"


def test_every_submit_has_a_task_kind_polled_by_a_read() -> None:
    for spec in TASK_KINDS.values():
        assert spec.submit_operation.kind == "submit"
        assert spec.query_operation.kind == "read"
        assert spec.query_operation.method == "GET"


def test_stub_parameters_are_keyword_only_and_typed() -> None:
    for cls in _resource_classes().values():
        for name, method in _public_methods(cls).items():
            signature = inspect.signature(method)
            for parameter in list(signature.parameters.values())[1:]:
                assert parameter.kind is inspect.Parameter.KEYWORD_ONLY, (cls, name, parameter)
                assert parameter.annotation is not inspect.Parameter.empty
            assert signature.return_annotation is not inspect.Signature.empty
            assert method.__doc__, f"{cls.__name__}.{name} has no docstring"


def _examples(schema: dict[str, Any]) -> list[Any]:
    found = []
    if "example" in schema:
        found.append(schema["example"])
    found.extend(schema.get("examples", []) if isinstance(schema.get("examples"), list) else [])
    return found


def _component_examples() -> list[tuple[str, Any]]:
    cases: list[tuple[str, Any]] = []
    for name, schema in SCHEMAS.items():
        cases.extend((name, example) for example in _examples(schema))
    for _, _, operation in _spec_operations():
        bodies = [operation.get("requestBody", {})]
        bodies += list(operation.get("responses", {}).values())
        for holder in bodies:
            media = holder.get("content", {}).get("application/json", {})
            schema = media.get("schema", {})
            # A 200 response is anyOf [success envelope, ErrorEnvelope]: an example is one of them.
            branches = [b.get("$ref", "") for b in schema.get("anyOf", [schema])]
            values = [media["example"]] if "example" in media else []
            values += [e["value"] for e in media.get("examples", {}).values() if "value" in e]
            for value in values:
                is_error = isinstance(value, dict) and value.get("result", {}) is None
                ref = branches[-1] if is_error else branches[0]
                cases.append((ref.rsplit("/", 1)[-1], value))
    return cases


EXAMPLES = _component_examples()


def test_the_spec_has_examples() -> None:
    assert len(EXAMPLES) >= 10


@pytest.mark.parametrize(("schema_name", "example"), EXAMPLES, ids=[n for n, _ in EXAMPLES])
def test_every_example_validates_into_its_generated_model(schema_name: str, example: Any) -> None:
    model = getattr(models, schema_name, None)
    if model is None or not isinstance(example, dict):
        pytest.skip(f"{schema_name} is not generated as a model class")
    parsed = model.model_validate(example)
    # Nothing is lost: the wire form round-trips every key the example had.
    dumped = parsed.model_dump(mode="json", by_alias=True, exclude_unset=True)
    assert set(dumped) == set(example)


def _request_models() -> list[str]:
    names = []
    for _, _, operation in _spec_operations():
        ref = (
            operation.get("requestBody", {})
            .get("content", {})
            .get("application/json", {})
            .get("schema", {})
            .get("$ref")
        )
        if ref:
            names.append(ref.rsplit("/", 1)[-1])
    return names


@pytest.mark.parametrize("schema_name", _request_models())
def test_request_models_serialise_to_exact_wire_names(schema_name: str) -> None:
    model = getattr(models, schema_name)
    wire_names = set(SCHEMAS[schema_name]["properties"])
    for field_name, field in model.model_fields.items():
        assert field.alias in wire_names or field_name in wire_names, (schema_name, field_name)
    aliases = {field.alias or name for name, field in model.model_fields.items()}
    assert aliases == wire_names


def test_unknown_fields_and_status_values_are_kept() -> None:
    raw = {
        "taskId": "176bd1a50ba8437db36af5eb8fd9e5ca",
        "status": "queued_in_a_new_way",
        "exportVideos": [{"scriptId": 1, "status": "rendering", "brandNewField": {"a": 1}}],
        "someFutureField": [1, 2, 3],
    }
    parsed = models.M2vTaskResult.model_validate(raw)
    assert parsed.status == "queued_in_a_new_way"
    assert parsed.model_extra == {"someFutureField": [1, 2, 3]}
    assert parsed.export_videos is not None
    assert parsed.export_videos[0].model_extra == {"brandNewField": {"a": 1}}
    assert parsed.model_dump(mode="json", by_alias=True, exclude_unset=True) == raw


def test_models_accept_python_and_wire_names() -> None:
    by_wire = models.ScraperSubmitRequest.model_validate({"productLink": "https://x.test/p"})
    by_name = models.ScraperSubmitRequest(product_link="https://x.test/p")
    assert by_wire == by_name
    assert by_name.to_wire() == {"productLink": "https://x.test/p"}


def test_generated_files_carry_the_header() -> None:
    package = ROOT / "src" / "topview_async"
    files = [
        *(package / "_generated").glob("*.py"),
        *(package / "resources").glob("*.py"),
        *(package / "types").glob("*.py"),
    ]
    assert files
    for path in files:
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first.startswith("# Generated by codegen from openapi/topview.yaml"), path


@pytest.fixture(scope="module")
def expected() -> dict[Path, str]:
    """The committed generated files, as the generator's output to compare with.

    That the spec really generates them is the nox ``codegen`` session's ``--check`` (CI runs
    it; generating takes the model generator and ~60 ruff subprocesses, seconds of the suite),
    so these tests check only how a difference is found and reported.
    """
    from codegen import _cli

    return _cli._existing()


def test_codegen_check_reports_a_hand_edit_and_stray_files(
    expected: dict[Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from codegen import _cli

    package = tmp_path / "src" / "topview_async"
    for directory in _cli.GENERATED_DIRS:
        shutil.copytree(
            directory,
            package / directory.name,
            ignore=shutil.ignore_patterns("__pycache__"),
        )
    monkeypatch.setattr(_cli, "ROOT", tmp_path)
    monkeypatch.setattr(
        _cli, "GENERATED_DIRS", tuple(package / d.name for d in _cli.GENERATED_DIRS)
    )
    readme = tmp_path / "README.md"
    readme.write_text(_cli.README.read_text(encoding="utf-8"), encoding="utf-8")
    moved = {
        readme if path == _cli.README else package / path.relative_to(_cli.PACKAGE): text
        for path, text in expected.items()
    }
    monkeypatch.setattr(_cli, "README", readme)
    assert _cli.check(moved) == []

    target = package / "resources" / "captions.py"
    target.write_text(target.read_text() + "\n# a hand edit\n", encoding="utf-8")
    (package / "resources" / "handwritten.py").write_text("x = 1\n", encoding="utf-8")
    problems = "\n".join(_cli.check(moved))
    assert "resources/captions.py (committed)" in problems
    assert "-# a hand edit" in problems
    assert "file in a generated folder that the spec does not produce" in problems
    assert "resources/handwritten.py" in problems

    # The README's endpoint table is generated too: a hand-edited row is drift.
    readme.write_text(readme.read_text().replace("| read |", "| write |", 1), encoding="utf-8")
    assert "README.md (committed)" in "\n".join(_cli.check(moved))


def _defined_models() -> dict[str, type]:
    """Every class the generated model submodules define, by name."""
    found: dict[str, type] = {}
    for info in pkgutil.iter_modules(models.__path__):
        module = importlib.import_module(f"{models.__name__}.{info.name}")
        for name, value in vars(module).items():
            if isinstance(value, type) and value.__module__ == module.__name__:
                assert name not in found, f"{name} defined twice"
                found[name] = value
    return found


def test_every_generated_model_is_public_in_types_and_found_by_name() -> None:
    import topview_async.types as public_types

    generated = _defined_models()
    assert len(generated) > 100
    assert set(public_types.__all__) == set(models.__all__) == set(generated)
    for name, cls in generated.items():
        assert getattr(models, name) is cls is getattr(public_types, name)


def test_a_resource_module_defines_only_the_models_it_needs() -> None:
    # Defining a model costs: a client's first call must not define every model of the API.
    code = (
        "import sys\n"
        "import topview_async.resources.marketing_videos\n"
        "from topview_async._generated import models\n"
        "print(sorted(vars(models)['_MODULES'][n] for n in models.__all__"
        " if f'{models.__name__}.{vars(models)[\"_MODULES\"][n]}' in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    loaded = set(ast.literal_eval(done.stdout.strip().splitlines()[-1]))
    assert "marketing_videos" in loaded
    assert "shared_task_submit_result" in loaded  # TaskSubmitResult: every submit returns it
    assert "boards" not in loaded
    assert "other" not in loaded
    assert loaded <= {"marketing_videos", "shared_task_submit_result"}


def test_model_submodules_import_each_other_without_cycles() -> None:
    graph: dict[str, set[str]] = {}
    for path in Path(models.__path__[0]).glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        graph[path.stem] = {
            node.module
            for node in tree.body
            if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module
        }
    assert graph["ai_avatars"] == {"shared_custom_ai_avatar", "shared_ethnicity"}
    done: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        assert module not in path, f"import cycle: {[*path, module]}"
        if module not in done:
            for imported in graph[module]:
                visit(imported, (*path, module))
            done.add(module)

    for module in graph:
        visit(module, ())


def test_split_groups_each_model_by_the_resources_that_need_it() -> None:
    from codegen import _split

    source = (
        "from __future__ import annotations\n"
        "from typing import Any\n"
        "from topview_async._models import TopviewModel\n"
        "class Shared(TopviewModel):\n    x: int\n"
        "class Inner(TopviewModel):\n    y: Any\n"
        "class OnlyA(TopviewModel):\n    inner: Inner\n    shared: Shared\n"
        "class OnlyB(TopviewModel):\n    shared: list[Shared]\n"
        "class Envelope(TopviewModel):\n    result: OnlyA\n"
    )
    files = _split.split("# header", source, {"a": {"OnlyA"}, "b": {"OnlyB", "NotAModel"}})
    assert sorted(files) == ["__init__", "a", "b", "other", "shared_shared"]
    assert "class Inner" in files["a"]
    assert "class OnlyA" in files["a"]
    assert "from .shared_shared import Shared" in files["a"]
    assert "from .a import OnlyA" in files["other"]
    assert "Any" not in files["b"]  # imports only what its classes use
    assert '"Envelope": "other",' in files["__init__"]
    with pytest.raises(ValueError, match="unexpected top-level code"):
        _split.split("# header", source + "Shared.model_rebuild()\n", {})
