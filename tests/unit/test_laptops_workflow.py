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


def test_no_test_module_imports_a_posix_only_module_where_windows_collects_it():
    """`import pty` at a module's top stopped Windows' collection of the whole suite: such an
    import comes after a module-level skip on Windows."""
    import ast

    posix_only = {"pty", "termios", "tty", "fcntl", "resource", "grp", "pwd"}
    for path in (ROOT / "tests").rglob("*.py"):
        body = ast.parse(path.read_text(encoding="utf-8")).body
        skipped = False
        for node in body:
            if isinstance(node, ast.If) and "win32" in ast.unparse(node.test):
                skipped = skipped or "allow_module_level" in ast.unparse(node)
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            if any(n.split(".")[0] in posix_only for n in names):
                assert skipped, f"{path.name}: {names} is imported before a skip on Windows"
