"""A protocol is one folder (edge/connectors/<name>/, `fieldlab.connectors`): the gateway,
`fieldlab discover`, `fieldlab sim`, the scenario's `faces:` and the simulator's site generator
find it there, so adding one touches no other file. Shown by planting a protocol folder the kit
has never seen and finding it everywhere."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import fieldlab.connectors as connectors
from fieldlab.cli.main import build_parser
from fieldlab.connectors import connector_modules, protocols
from fieldlab.discovery import discover_modules
from fieldlab.gateway.config import parse_gateway_config
from fieldlab.simulators.faces import face_names
from fieldlab.simulators.gateway_site import gateway_sources
from fieldlab.simulators.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2] / "edge" / "connectors"

DEMO = {
    "__init__.py": '"""A protocol of the test\'s own."""\n\nTYPE = "demo"\nFACE_PORT = 4321\n',
    "connector.py": """
from typing import Literal

from pydantic import BaseModel

from fieldlab.connectors.demo import TYPE


class Config(BaseModel):
    type: Literal["demo"]
    name: str
    host: str = "127.0.0.1"


def create(cfg, site, data_dir):
    raise NotImplementedError
""",
    "discover.py": """
HELP = "what a demo device offers"
EXAMPLES = ["fieldlab discover demo 127.0.0.1"]


def add_arguments(parser):
    parser.add_argument("address")


def run(args):
    return 0
""",
    "face.py": """
class Face:
    name = "demo"
    terminal = False

    def __init__(self, scenario, machines, settings):
        self.port = settings.port("demo")


def gateway_source(scenario, machines, settings, read):
    return {"type": "demo", "name": "sim-demo", "host": settings.host}
""",
}


@pytest.fixture
def planted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    folder = tmp_path / "demo"
    folder.mkdir()
    for name, text in DEMO.items():
        (folder / name).write_text(text)
    monkeypatch.setattr(connectors, "__path__", [*connectors.__path__, str(tmp_path)])
    _forget()
    yield folder
    _forget()
    for name in [m for m in sys.modules if m.startswith("fieldlab.connectors.demo")]:
        del sys.modules[name]


def _forget() -> None:
    protocols.cache_clear()
    connector_modules.cache_clear()


def test_every_protocol_is_one_folder_with_a_short_face():
    for name in protocols():
        folder = ROOT / name
        for part in ("connector.py", "README.md", "sample.yaml", "cases"):
            assert (folder / part).exists(), f"{name}: no {part}"
        face = ast.parse((folder / "__init__.py").read_text())
        imports = [n for n in ast.walk(face) if isinstance(n, ast.Import | ast.ImportFrom)]
        assert not imports, f"{name}/__init__.py imports: registries read it cheaply"
        assert f'TYPE = "{name}"' in (folder / "__init__.py").read_text()


def test_the_kits_protocols_have_every_part():
    assert set(protocols()) == {"modbus", "mqtt", "opcua", "s7", "sparkplug"}
    assert set(face_names()) == set(protocols())
    assert set(discover_modules()) == {"modbus", "mqtt", "opcua", "s7"}


def test_a_new_protocol_folder_is_found_by_every_part_of_the_kit(planted: Path):
    assert "demo" in protocols()
    # the gateway: a source of the new type is a valid site file
    site, cfg = parse_gateway_config("sources:\n  - {type: demo, name: d1}\n")
    assert cfg.sources[0].type == "demo"
    assert "demo" in connector_modules()
    # fieldlab discover demo, and its example in the help
    parser = build_parser()
    args = parser.parse_args(["discover", "demo", "10.0.0.1"])
    assert args.run(args) == 0 and args.address == "10.0.0.1"
    # fieldlab sim: the face's port option with its default, and the face among --faces
    args = parser.parse_args(["sim"])
    assert args.demo_port == 4321 and "demo" in args.faces.split(",")
    # a scenario may put a machine on it, and the site generator writes its source
    scenario = load_scenario()
    data = scenario.model_dump(mode="json", exclude_none=True)
    first = next(iter(data["machines"]))
    data["machines"][first]["faces"] = ["demo"]
    on_demo = type(scenario).model_validate(data)
    sources = gateway_sources(on_demo)
    assert {"type": "demo", "name": "sim-demo", "host": "127.0.0.1"} in sources


def test_a_face_no_protocol_has_is_refused_with_the_ones_there_are():
    data = load_scenario().model_dump(mode="json", exclude_none=True)
    first = next(iter(data["machines"]))
    data["machines"][first]["faces"] = ["profinet"]
    with pytest.raises(ValueError, match="modbus, mqtt, opcua, s7, sparkplug"):
        type(load_scenario()).model_validate(data)
