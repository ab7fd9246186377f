"""Benchmark: the gateway against a Node-RED flow, MQTT → InfluxDB, the tool a fieldlab engineer
would otherwise pick (#32). Node-RED and its InfluxDB node come from npm into a cache folder of
their own (`--install`), never into the kit. compare.py measures; flow.json is Node-RED's side;
README.md says what makes the comparison fair and what it leaves out.

    fieldlab bench nodered --install [--json]
"""

from fieldlab.bench.nodered.compare import report, run

__all__ = ["report", "run"]
