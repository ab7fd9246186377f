"""Runs a scenario: the clock, the machine models, the truth log and the protocol faces."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from pathlib import Path

from fieldlab.domain.samples import Sample, format_ts, from_ms, to_ms
from fieldlab.simulators.clock import SimClock
from fieldlab.simulators.faces import face_module
from fieldlab.simulators.faces.base import Face, FaceSettings
from fieldlab.simulators.machine import MachineModel
from fieldlab.simulators.operators import OperatorModel
from fieldlab.simulators.scenario import Event, Scenario
from fieldlab.simulators.truth import TruthWriter

log = logging.getLogger("fieldlab.sim")


class Simulation:
    def __init__(
        self,
        scenario: Scenario,
        *,
        seed: int | None = None,
        speed: float = 1.0,
        start_ms: int | None = None,
        truth: Path | None = None,
        faces: FaceSettings | None = None,
        tick_s: float = 0.05,
        step_ms: int = 10_000,
    ):
        self.scenario = scenario
        self.site = scenario.site_config()
        start_dt = scenario.start_datetime()
        self.start_ms = to_ms(start_dt) if start_ms is None else start_ms
        self.seed = scenario.seed if seed is None else seed
        self.clock = SimClock(self.start_ms, speed)
        self.tick_s = tick_s
        self.step_ms = step_ms
        calendar = self.site.shift_calendar()
        start_local = from_ms(self.start_ms).astimezone(self.site.tz)
        timed = [(e.offset_ms(start_local), e) for e in scenario.events]
        self.machines: dict[str, MachineModel] = {
            mid: MachineModel(
                mid,
                spec,
                calendar,
                self.start_ms,
                self.seed,
                orders=[(o.product, o.quantity) for o in scenario.orders if o.machine == mid],
                events=[(off, e) for off, e in timed if e.machine == mid and e.action != "face"],
            )
            for mid, spec in scenario.machines.items()
        }
        self.operators: dict[str, OperatorModel] = {
            mid: OperatorModel(
                mid,
                op,
                list(scenario.reasons),
                self.machines[mid].order_plan,
                [o.number or "" for o in scenario.orders if o.machine == mid],
                self.machines[mid].params.quality_counters,
                self.seed,
            )
            for mid, op in scenario.operators.items()
        }
        self._face_events: list[tuple[int, Event]] = sorted(
            ((off, e) for off, e in timed if e.action == "face"), key=lambda x: x[0]
        )
        self.truth = TruthWriter(truth, list(self.machines))
        self.faces: list[Face] = []
        self._face_settings = faces
        self.sim_now = self.start_ms
        self.samples_out = 0
        self._stop = asyncio.Event()
        self._fault_tasks: set[asyncio.Task[None]] = set()

    # -- faces ------------------------------------------------------------------------------------

    def _build_faces(self, settings: FaceSettings) -> list[Face]:
        faces: list[Face] = []
        by_face: dict[str, list[str]] = {}
        for mid, spec in self.scenario.machines.items():
            for f in spec.faces:
                by_face.setdefault(f, []).append(mid)
        for name, machines in sorted(by_face.items()):
            if settings.serves(name):
                faces.append(face_module(name).Face(self.scenario, machines, settings))
        if self.operators and settings.serves("mqtt"):
            # the operators' tablets: what people enter, on the terminals' own topics
            tablets = face_module("mqtt").Face(
                self.scenario, list(self.operators), settings, terminal=True
            )
            faces.append(tablets)
        return faces

    async def start(self) -> None:
        if self._face_settings is not None:
            self.faces = self._build_faces(self._face_settings)
            started: list[Face] = []
            try:
                for face in self.faces:
                    await face.start(self.sim_now)
                    started.append(face)
            except BaseException:
                # one face could not start (its port taken): the others stop again, so the
                # caller can choose other ports and start anew, or end without a server left
                for face in reversed(started):
                    with contextlib.suppress(Exception):
                        await face.stop()
                self.faces = []
                raise
            # Faces that start after a back-fill begin with the machines' present values, not
            # with zeros: a counter read as 0 would look like a reset.
            snapshot = [
                Sample(ts, m, sig, value)
                for m, model in self.machines.items()
                for sig, (ts, value) in sorted(model.current.items(), key=lambda kv: kv[1][0])
            ]
            if snapshot:
                for face in self.faces:
                    await face.publish(snapshot, self.sim_now)

    async def stop(self) -> None:
        self._stop.set()
        for task in list(self._fault_tasks):
            task.cancel()
        await asyncio.gather(*self._fault_tasks, return_exceptions=True)
        for face in self.faces:
            try:
                await face.stop()
            except Exception:  # stopping must reach every face
                log.exception("stopping face %s", face.name)
        self.truth.close()

    def request_stop(self) -> None:
        self._stop.set()

    # -- control ----------------------------------------------------------------------------------

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def pause(self) -> None:
        self.clock.pause()

    def resume(self) -> None:
        self.clock.resume()

    def set_speed(self, speed: float) -> None:
        self.clock.set_speed(speed)

    async def linger(self, seconds: float) -> None:
        """Keep the faces serving the final values (unless a stop is asked for)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), seconds)

    def go_live(self, speed: float, *, paused: bool = False) -> None:
        """After a back-fill at full speed: from the simulated now on, follow the clock at
        ``speed``. The models run on, so states and counters continue without a seam.
        ``paused``: standing exactly at the seam until `resume` (the demo starts the faces and
        the gateway first, whose values read at contact must join the history there)."""
        self.clock = SimClock(self.sim_now, speed, paused=paused)

    def endpoints(self) -> list[str]:
        return [e for f in self.faces for e in f.endpoints()]

    # -- running ----------------------------------------------------------------------------------

    async def step(self, until: int) -> list[Sample]:
        """Advance every machine to simulated ``until`` and hand the samples on."""
        batch: list[Sample] = []
        entered: list[Sample] = []  # by the simulated operators: the terminals publish these
        for mid, model in self.machines.items():
            samples = model.advance(until)
            batch.extend(samples)
            if mid in self.operators:
                entered.extend(self.operators[mid].observe(samples, until))
        self.sim_now = until
        self.truth.write(batch + entered)
        if not self.clock.unbounded:
            self.truth.flush()  # readers (tests, trainers) may follow the file live
        self.samples_out += len(batch)
        while self._face_events and self._face_events[0][0] + self.start_ms <= until:
            _, ev = self._face_events.pop(0)
            await self._inject(ev)
        for face in self.faces:
            await face.publish(entered if face.terminal else batch, until)
        return batch + entered

    async def _inject(self, ev: Event) -> None:
        """Faults run beside the simulation: a face that is down for a while must not stop
        simulated time, or there would be no gap to see."""
        face_name, fault, *args = ev.args + ["", ""]
        for face in self.faces:
            if face.name == face_name:
                log.info("fault injection: %s %s %s", face_name, fault, args)
                task = asyncio.create_task(face.inject(fault, [a for a in args if a]))
                self._fault_tasks.add(task)
                task.add_done_callback(self._fault_tasks.discard)

    async def run(self, *, sim_until: int | None = None, wall_seconds: float | None = None) -> None:
        """Run until simulated ``sim_until``, ``wall_seconds`` pass, or `request_stop()`."""
        deadline = None if wall_seconds is None else time.monotonic() + wall_seconds
        while not self._stop.is_set():
            if deadline is not None and time.monotonic() >= deadline:
                break
            if self.clock.unbounded:
                target = self.sim_now + self.step_ms
                self.clock.step_to(target)
            else:
                target = self.clock.now()
            if sim_until is not None:
                target = min(target, sim_until)
            if target > self.sim_now or self.sim_now == self.start_ms:
                await self.step(target)
            if sim_until is not None and self.sim_now >= sim_until:
                break
            if self.clock.unbounded:
                await asyncio.sleep(0)
            else:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), self.tick_s)
        self.truth.flush()

    def status(self) -> dict[str, object]:
        return {
            "sim_time": format_ts(self.sim_now),
            "speed": None if math.isinf(self.clock.speed) else self.clock.speed,
            "paused": self.clock.paused,
            "samples": self.samples_out,
            "states": {
                m: model.current.get("state", (0, "offline"))[1]
                for m, model in self.machines.items()
            },
        }
