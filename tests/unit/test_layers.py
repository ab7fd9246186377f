"""Arrows point down: the import graph of the `fieldlab` package follows the layers of the
README's "How it fits together". A module imports from its own package or from a lower layer,
never from a higher one (an arrow up) nor from another package of its own layer (sideways).
The graph is read from the source with `ast`, so the test sees every import, lazy ones too."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: Folders and the package each installs as (pyproject.toml's package-dir).
FOLDERS = {
    "edge": "fieldlab",
    "simulators": "fieldlab.simulators",
    "dashboards": "fieldlab.dashboards",
    "bench": "fieldlab.bench",
    "recipes": "fieldlab.recipes",
}
#: Bottom to top; the README's table lists the same.
LAYERS: list[set[str]] = [
    {"fieldlab.i18n"},
    {"fieldlab.domain", "fieldlab.errors", "fieldlab.process"},
    {"fieldlab.config"},
    {"fieldlab.store", "fieldlab.mapping"},
    {"fieldlab.kpi", "fieldlab.connectors", "fieldlab.sinks"},
    {"fieldlab.alerts"},
    {"fieldlab.reports", "fieldlab.learning"},
    {
        "fieldlab.gateway",
        "fieldlab.discovery",
        "fieldlab.simulators",
        "fieldlab.dashboards",
        "fieldlab.recipes",
    },
    {"fieldlab.stack"},
    {"fieldlab.bench", "fieldlab.workshop"},
    {"fieldlab.cli"},
    {"fieldlab.__main__"},
]


#: A protocol folder (fieldlab.connectors.<name>, README "How it fits together") spans layers:
#: its `face*` modules are the simulator's, its `discover*` modules discovery's, the rest the
#: connector's. Each module is held to the layer of its part.
PARTS = {"face": "fieldlab.simulators", "discover": "fieldlab.discovery"}


def unit(module: str) -> str:
    """The package (or top-level module) a module belongs to: fieldlab.X, or for a part of a
    protocol folder, the package of that part's layer."""
    parts = module.split(".")
    if parts[:2] == ["fieldlab", "connectors"] and len(parts) > 3:
        part = PARTS.get(parts[3].split("_")[0])
        if part is not None:
            return part
    return ".".join(parts[:2]) if len(parts) > 1 else module


def modules() -> dict[str, Path]:
    out = {}
    for folder, package in FOLDERS.items():
        for path in (ROOT / folder).rglob("*.py"):
            parts = [p for p in path.relative_to(ROOT / folder).with_suffix("").parts]
            out[".".join([package, *[p for p in parts if p != "__init__"]])] = path
    return out


def imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
    return {m for m in found if m == "fieldlab" or m.startswith("fieldlab.")}


def layer_of(package: str) -> int:
    for i, layer in enumerate(LAYERS):
        if package in layer:
            return i
    raise AssertionError(f"{package} is in no layer: add it to LAYERS and the README")


def test_every_import_points_down():
    problems = []
    for module, path in sorted(modules().items()):
        here = unit(module)
        for target in sorted(imports(path)):
            there = unit(target)
            if there == here or there == "fieldlab":  # its own package; the version
                continue
            a, b = layer_of(here), layer_of(there)
            if b > a:
                problems.append(f"{module} imports {target}: an arrow up")
            elif b == a:
                problems.append(f"{module} imports {target}: sideways in one layer")
    assert not problems, "\n".join(problems)


def test_the_layers_name_every_package_and_the_readme_lists_them():
    packages = {unit(m) for m in modules()} - {"fieldlab"}
    named = set().union(*LAYERS)
    assert packages <= named, packages - named
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## How it fits together", 1)[1].split("\n## ", 1)[0]
    for package in named - {"fieldlab.__main__"}:
        assert f"`{package.removeprefix('fieldlab.')}" in section, package


def test_a_planted_arrow_up_is_found(tmp_path, monkeypatch):
    """The check itself: a store module importing the gateway is reported."""
    _plant(tmp_path, monkeypatch, "store", "from fieldlab.gateway.run import Gateway\n")
    try:
        test_every_import_points_down()
    except AssertionError as exc:
        assert "fieldlab.store.bad imports fieldlab.gateway.run: an arrow up" in str(exc)
    else:
        raise AssertionError("the planted arrow up was not found")


def test_a_connector_importing_its_protocols_face_is_an_arrow_up(tmp_path, monkeypatch):
    """A protocol folder is one folder, not one layer: its connector may not use its face."""
    _plant(
        tmp_path,
        monkeypatch,
        "connectors/demo",
        "from fieldlab.connectors.demo.face import Face\n",
    )
    (tmp_path / "edge" / "connectors" / "demo" / "face.py").write_text(
        "from fieldlab.simulators.faces.base import FaceSettings\n"
    )
    try:
        test_every_import_points_down()
    except AssertionError as exc:
        assert (
            "fieldlab.connectors.demo.bad imports fieldlab.connectors.demo.face: an arrow up"
            in (str(exc))
        )
        assert "demo.face imports" not in str(exc)  # a face may use the simulator's base
    else:
        raise AssertionError("the planted connector importing its face was not found")


#: Arrows the kit's design forbids by name, whatever the layers say: a connector never knows
#: the gateway that runs it (it reports to its context), a sink never knows where samples came
#: from, and a dashboard reads the store, never the gateway's memory.
FORBIDDEN = [
    ("fieldlab.connectors", "fieldlab.gateway"),
    ("fieldlab.sinks", "fieldlab.connectors"),
    ("fieldlab.dashboards", "fieldlab.gateway"),
]


def test_no_connector_imports_the_gateway_and_no_sink_a_connector():
    problems = [
        f"{module} imports {target}"
        for module, path in sorted(modules().items())
        for target in sorted(imports(path))
        for low, high in FORBIDDEN
        if unit(module) == low and unit(target) == high
    ]
    assert not problems, "\n".join(problems)


def test_a_planted_sink_importing_a_connector_is_found(tmp_path, monkeypatch):
    _plant(tmp_path, monkeypatch, "sinks", "from fieldlab.connectors.base import Backoff\n")
    try:
        test_no_connector_imports_the_gateway_and_no_sink_a_connector()
    except AssertionError as exc:
        assert "fieldlab.sinks.bad imports fieldlab.connectors.base" in str(exc)
    else:
        raise AssertionError("the planted sink importing a connector was not found")


def _plant(tmp_path: Path, monkeypatch, package: str, source: str) -> None:
    """A tree with one module, edge/<package>/bad.py, that the checks then read instead."""
    planted = tmp_path / "edge" / package
    planted.mkdir(parents=True)
    (planted / "bad.py").write_text(source)
    monkeypatch.setitem(globals(), "ROOT", tmp_path)
    for folder in FOLDERS:
        (tmp_path / folder).mkdir(exist_ok=True)
