"""The dashboard's settings travel to Streamlit's process in its environment and come back the
same (dashboards/settings.py): one object for every page, nothing left over from the caller."""

from __future__ import annotations

from pathlib import Path

from fieldlab.dashboards.settings import DashboardSettings


def test_settings_come_back_as_they_were_written(tmp_path: Path):
    written = DashboardSettings(
        config=tmp_path / "site.yaml",
        store="sqlite:///other.db",
        lang="nl",
        andon=True,
        terminal="press-1",
        exercise=tmp_path / "exercise.json",
        trainer_code="0420",
        clock="data",
    )
    assert DashboardSettings.from_environ(written.environ({})) == written


def test_a_callers_own_settings_do_not_leak_into_a_dashboard_it_starts(tmp_path: Path):
    parent = DashboardSettings(
        config=tmp_path / "a.yaml", exercise=tmp_path / "ex.json", clock="data"
    ).environ({"PATH": "/bin"})
    child = DashboardSettings(config=tmp_path / "b.yaml").environ(parent)
    assert child["PATH"] == "/bin"
    read = DashboardSettings.from_environ(child)
    assert read == DashboardSettings(config=(tmp_path / "b.yaml").resolve())
    assert read.exercise is None and read.clock == "wall"
