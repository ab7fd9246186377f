"""Server addresses checked where they are written: a site file's `url:` and `host:` keys and
the `discover` command's argument. A malformed one (`opc.tcp//host:4840`, `mqtt://:1883`,
`http://influx:80a`, `192.168.0.10:102` where only a host belongs) is refused with what was
expected, instead of a library's traceback or a gateway that retries it forever."""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator

#: a DNS name (RFC 1123 labels) or an IPv4 address; IPv6 is checked by ipaddress
_HOST = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,62})(?:\.[A-Za-z0-9_-]{1,63})*\.?$"
)


def check_host(host: str, example: str = "192.168.0.10") -> str:
    """A host name or IP address alone: no scheme, port or path."""
    text = host.strip()
    try:
        ipaddress.ip_address(text.strip("[]"))
        return text
    except ValueError:
        pass
    if not _HOST.match(text):
        hint = ""
        if "://" in text or "/" in text:
            hint = " (no scheme or path here)"
        elif text.count(":") == 1:
            hint = " (the port goes in `port:`)"
        raise ValueError(
            f"expected a host name or IP address such as {example}{hint}, got {host!r}"
        )
    return text


def check_url(url: str, schemes: tuple[str, ...], example: str) -> str:
    """A URL with one of `schemes`, `://`, a host and, if any, a numeric port 1-65535."""
    expect = f"expected a URL like {example}"
    scheme, sep, _ = url.partition("://")
    if not sep:
        raise ValueError(f"{expect} (`{schemes[0]}://` then the host), got {url!r}")
    if scheme.lower() not in schemes:
        allowed = " or ".join(f"{s}://" for s in schemes)
        raise ValueError(f"{expect}: it starts with {allowed}, got {url!r}")
    parts = urlsplit(url)
    if not parts.hostname:
        raise ValueError(f"{expect}: the host is missing in {url!r}")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"{expect}: the port must be a number 1-65535 in {url!r}") from None
    if port == 0:
        raise ValueError(f"{expect}: the port must be a number 1-65535 in {url!r}")
    check_host(parts.hostname, example)
    if any(c.isspace() for c in url):
        raise ValueError(f"{expect}, without spaces, got {url!r}")
    return url


def _url(schemes: tuple[str, ...], example: str) -> AfterValidator:
    return AfterValidator(lambda v: check_url(v, schemes, example))


OpcUaUrl = Annotated[str, _url(("opc.tcp",), "opc.tcp://192.168.0.10:4840")]
MqttUrl = Annotated[str, _url(("mqtt", "mqtts", "tcp", "ssl"), "mqtt://192.168.0.10:1883")]
HttpUrl = Annotated[str, _url(("http", "https"), "http://127.0.0.1:8086")]
Host = Annotated[str, AfterValidator(check_host)]


def check_store(url: str) -> str:
    """`store:`: sqlite:///PATH (or a .db file), influxdb://HOST[:PORT]/DB or
    influxdb2://HOST[:PORT]/BUCKET?org=ORG, the InfluxDB forms with a host and a name."""
    if url.startswith("sqlite:///") or ("://" not in url and url.endswith((".db", ".sqlite"))):
        return url
    if url.partition("://")[0].lower() in ("influxdb", "influxdb2"):
        check_url(url, ("influxdb", "influxdb2"), "influxdb://127.0.0.1:8086/fieldlab")
        if not urlsplit(url).path.strip("/"):
            raise ValueError(f"expected the database (or bucket) after the host, got {url!r}")
        return url
    raise ValueError(
        "expected sqlite:///PATH, influxdb://HOST:PORT/DB or "
        f"influxdb2://HOST:PORT/BUCKET?org=ORG, got {url!r}"
    )


StoreUrl = Annotated[str, AfterValidator(check_store)]
