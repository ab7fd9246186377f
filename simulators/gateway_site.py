"""The gateway config that reads a scenario's machines from their faces.

The simulators know their own register maps, node ids and topics, so they can write the
`sources:` a fieldlab engineer would otherwise type: the demo, the recipes and the end-to-end
tests use it, and it doubles as a worked example of a gateway config.
"""

from __future__ import annotations

from typing import Any

import yaml

from fieldlab.simulators.faces import face_module
from fieldlab.simulators.faces.base import FaceSettings, ReadOptions
from fieldlab.simulators.scenario import Scenario


def gateway_sources(
    scenario: Scenario,
    faces: FaceSettings | None = None,
    read: ReadOptions | None = None,
) -> list[dict[str, Any]]:
    """A source per protocol the scenario's machines are read on (each machine once, on its
    first face), written by that protocol's face; then the simulated operators' tablets."""
    faces, read = faces or FaceSettings(), read or ReadOptions()
    by_face: dict[str, list[str]] = {}
    for mid, spec in scenario.machines.items():
        by_face.setdefault(spec.faces[0], []).append(mid)  # each machine read once
    sources = [
        face_module(name).gateway_source(scenario, machines, faces, read)
        for name, machines in sorted(by_face.items())
    ]
    if scenario.operators:
        sources.append(face_module("mqtt").terminals_source(scenario, faces, read))
    return sources


def gateway_site_yaml(
    scenario: Scenario,
    faces: FaceSettings | None = None,
    read: ReadOptions | None = None,
    extra: dict[str, Any] | None = None,
) -> str:
    """The scenario's site config plus its `sources:`, ready for `fieldlab gateway`."""
    site = scenario.site_config().model_dump(
        mode="json", exclude_none=True, exclude={"sources", "sinks", "gateway"}
    )
    site["sources"] = gateway_sources(scenario, faces, read)
    # the simulators' clocks run in simulated time (a past start, 60x): not a clock that is off
    site["max_clock_skew_s"] = None
    site.update(extra or {})
    return yaml.safe_dump(site, sort_keys=False, allow_unicode=True)
