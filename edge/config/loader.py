"""Reading a site YAML file, with errors that name the file, the key path and the expectation."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from fieldlab.config.site import SiteConfig
from fieldlab.errors import FieldlabError


class ConfigError(FieldlabError):
    """A configuration problem, worded for the person who edits the file."""


def load_site_config(path: str | Path) -> SiteConfig:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror})") from None
    return parse_site_config(text, str(path))


def parse_site_config(
    text: str,
    name: str = "site.yaml",
    model: type[SiteConfig] = SiteConfig,
    tags: frozenset[str] = frozenset(),
) -> SiteConfig:
    """The site file, parsed once. ``model`` may be a subclass that types the gateway's keys
    (`fieldlab.gateway.config.gateway_model`); ``tags`` as for `format_validation_error`."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{name}:{where}: not valid YAML: {problem}") from None
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"{name}: expected a mapping of keys (timezone, calendar, machines, …)")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, name, tags=tags)) from None


def format_validation_error(
    exc: ValidationError,
    name: str,
    prefix: tuple[Any, ...] = (),
    tags: frozenset[str] = frozenset(),
) -> str:
    """One line per problem: ``file: key.path[1].key: what is wrong``. ``tags`` are
    discriminator values pydantic puts in the path (``sources[0].opcua.url``): left out."""
    lines = []
    for err in exc.errors(include_url=False):
        loc = prefix + tuple(err["loc"])
        loc = tuple(
            p
            for i, p in enumerate(loc)
            if not (p in tags and i > 0 and isinstance(loc[i - 1], int))
        )
        path = _key_path(loc)
        lines.append(f"{name}: {path}: {_explain(err)}" if path else f"{name}: {_explain(err)}")
    return "\n".join(lines)


def _key_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part == "[key]" or str(part).startswith(("function-", "literal[")):
            continue  # pydantic's internal validator names are no help to a reader
        else:
            out += ("." if out else "") + str(part)
    return out


def _show(value: Any) -> str:
    try:
        return json.dumps(value, default=str)
    except (TypeError, ValueError):
        return repr(value)


def _explain(err: Mapping[str, Any]) -> str:
    kind, msg, value = err["type"], err["msg"], err.get("input")
    if kind == "value_error":
        return msg.removeprefix("Value error, ")
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "is not a known key (check the spelling; see `fieldlab config schema`)"
    if kind == "literal_error":
        expected = err.get("ctx", {}).get("expected", "")
        return f"{_show(value)} is not one of {expected}"
    return f"{_show(value)}: {msg[0].lower() + msg[1:]}"
