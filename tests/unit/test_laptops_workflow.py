"""`.github/workflows/laptops.yml` cannot run here (no Windows or macOS runner): read it and check
it installs what its tests need, runs paths that exist, and hides nothing a laptop does (#31)."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "laptops.yml"


def _job() -> dict:
    return next(iter(yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))["jobs"].values()))


def test_it_runs_on_both_laptop_systems_with_the_supported_pythons():
    matrix = _job()["strategy"]["matrix"]
    assert set(matrix["os"]) == {"windows-latest", "macos-latest"}
    assert "3.11" in matrix["python"]


def test_it_installs_the_broker_its_tests_need_on_each_system():
    """CI=true turns a missing server into a failure: Mosquitto from each runner's manager."""
    job = _job()
    assert job["env"]["CI"] == "true"
    steps = job["steps"]
    windows = [s for s in steps if s.get("if") == "runner.os == 'Windows'"]
    macos = [s for s in steps if s.get("if") == "runner.os == 'macOS'"]
    assert any("choco install mosquitto" in s["run"] and "GITHUB_PATH" in s["run"] for s in windows)
    assert any("brew install mosquitto" in s["run"] and "GITHUB_PATH" in s["run"] for s in macos)


def test_nothing_hides_what_a_laptop_does():
    """PYTHONUTF8=1 made every stream UTF-8 and hid the cp1252 crash of redirected output."""
    assert "PYTHONUTF8" not in WORKFLOW.read_text(encoding="utf-8").split("\nname:", 1)[1]


def test_every_test_path_it_runs_exists_and_what_needs_posix_is_marked():
    run = next(s["run"] for s in _job()["steps"] if "pytest" in s.get("run", ""))
    paths = [w for w in run.split() if w.startswith("tests/")]
    assert paths and all((ROOT / p).exists() for p in paths), paths
    # a module that kills with SIGKILL or starts Docker is skipped on Windows, not an error
    for path in (ROOT / "tests").rglob("test_*.py"):
        text = path.read_text(encoding="utf-8")
        posix_only = "signal.SIGKILL" in text or "killpg" in text or "faketime" in text
        if posix_only and path.name != "test_process_tree.py":
            assert "pytest.mark.posix" in text, path.name
    tree = (ROOT / "tests" / "server" / "test_process_tree.py").read_text(encoding="utf-8")
    assert tree.index("allow_module_level=True") < tree.index("signal.SIGKILL")
