"""Server addresses are checked where they are written (#27): `config check` refuses a malformed
OPC UA, MQTT, InfluxDB, S7 or Modbus address with file, key and expectation, instead of a
gateway that retries `ValueError` forever or a library's traceback."""

from __future__ import annotations

import pytest

from fieldlab.config import ConfigError
from fieldlab.config.addresses import check_host, check_url
from fieldlab.gateway.config import load_gateway_config

MACHINE = "machines: {cnc-1: {ideal_cycle_time_s: 60}}\n"
OPCUA = (
    "  - {{type: opcua, name: plc, url: '{}', "
    "machines: {{cnc-1: {{state: {{node: 'ns=2;s=x'}}}}}}}}\n"
)
MQTT = "  - {{type: mqtt, name: broker, url: '{}'}}\n"
S7 = (
    "  - {{type: s7, name: cpu, host: '{}', machines: {{cnc-1: "
    "{{count_total: {{address: 'DB1.DBD0:UDINT'}}}}}}}}\n"
)
MODBUS = (
    "  - {{type: modbus, name: meter, host: '{}', devices: [{{unit: 1, machine: cnc-1, "
    "fields: {{count_total: {{address: 0, type: UINT16}}}}}}]}}\n"
)


def _check(tmp_path, sources: str = "", sinks: str = ""):
    site = tmp_path / "site.yaml"
    site.write_text(
        "store: sqlite:///fieldlab.db\n"
        + MACHINE
        + f"sources:\n{sources}"
        + (f"sinks:\n{sinks}" if sinks else "")
    )
    return load_gateway_config(site)


@pytest.mark.parametrize(
    "template, bad, key, expected",
    [
        (OPCUA, "opc.tcp//192.168.0.10:4840", "sources[0].url", "opc.tcp://192.168.0.10:4840"),
        (OPCUA, "http://192.168.0.10:4840", "sources[0].url", "starts with opc.tcp://"),
        (OPCUA, "opc.tcp://plc:48a0", "sources[0].url", "port must be a number"),
        (OPCUA, "opc.tcp://:4840", "sources[0].url", "host is missing"),
        (MQTT, "mqtt//broker:1883", "sources[0].url", "mqtt://192.168.0.10:1883"),
        (MQTT, "broker:1883", "sources[0].url", "then the host"),
        (MQTT, "mqtt://broker:70000", "sources[0].url", "port must be a number"),
        (S7, "192.168.0.10:102", "sources[0].host", "the port goes in `port:`"),
        (S7, "s7://192.168.0.10", "sources[0].host", "no scheme or path"),
        (MODBUS, "modbus tcp", "sources[0].host", "host name or IP address"),
    ],
)
def test_a_malformed_source_address_names_file_key_and_expectation(
    tmp_path, template, bad, key, expected
):
    with pytest.raises(ConfigError) as err:
        _check(tmp_path, template.format(bad))
    text = str(err.value)
    assert "site.yaml" in text and key in text and expected in text and repr(bad) in text, text


@pytest.mark.parametrize(
    "sink, key",
    [
        ("  - {type: influxdb, api: v1, url: 'http//influx:8086', database: x}\n", "sinks[0].url"),
        ("  - {type: influxdb, api: v1, url: 'http://influx:80a', database: x}\n", "sinks[0].url"),
        ("  - {type: influxdb, api: v1, url: 'influx:8086', database: x}\n", "sinks[0].url"),
        ("  - {type: mqtt, url: 'mqtt:/broker'}\n", "sinks[0].url"),
    ],
)
def test_a_malformed_sink_address_is_refused(tmp_path, sink, key):
    with pytest.raises(ConfigError) as err:
        _check(tmp_path, MQTT.format("mqtt://127.0.0.1:1883"), sink)
    assert key in str(err.value) and "expected a URL like" in str(err.value), str(err.value)


@pytest.mark.parametrize(
    "good",
    [
        "opc.tcp://192.168.0.10:4840",
        "opc.tcp://plc-hall-1.local:4840/fieldlab/",
        "opc.tcp://[fe80::1]:4840",
        "OPC.TCP://PLC:4840",
        "opc.tcp://plc",
    ],
)
def test_addresses_as_devices_give_them_pass(good):
    assert check_url(good, ("opc.tcp",), "opc.tcp://192.168.0.10:4840") == good


@pytest.mark.parametrize(
    "good", ["192.168.0.10", "plc-1", "plc_1.hall.example.nl", "::1", "fe80::1"]
)
def test_hosts_pass(good):
    assert check_host(good) == good


@pytest.mark.parametrize(
    "store, expected",
    [
        ("influxdb//influx:8086/fieldlab", "expected sqlite:///PATH"),
        ("influxdb2://:8086/fieldlab?org=o", "host is missing"),
        ("influxdb://influx:8086", "the database (or bucket)"),
        ("mysql://db/fieldlab", "expected sqlite:///PATH"),
    ],
)
def test_a_malformed_store_is_refused(tmp_path, store, expected):
    site = tmp_path / "site.yaml"
    site.write_text(f"store: '{store}'\n")
    with pytest.raises(ConfigError) as err:
        load_gateway_config(site)
    assert "store:" in str(err.value) and expected in str(err.value), str(err.value)
