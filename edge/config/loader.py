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
from fieldlab.i18n import detect_lang, t


class ConfigError(FieldlabError):
    """A configuration problem, worded for the person who edits the file."""


def read_config_text(path: Path) -> str:
    """A config file's text, or a ConfigError that names it in the reader's language."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(t("cfg.not_found", detect_lang(), path=path)) from None
    except OSError as exc:
        raise ConfigError(t("cfg.unreadable", detect_lang(), path=path, why=exc.strerror)) from None


def load_site_config(path: str | Path) -> SiteConfig:
    path = Path(path)
    return parse_site_config(read_config_text(path), str(path))


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
        lang = detect_lang()
        mark = getattr(exc, "problem_mark", None)
        where = t("cfg.where", lang, line=mark.line + 1, column=mark.column + 1) if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(t("cfg.yaml", lang, name=name, where=where, problem=problem)) from None
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError(t("cfg.mapping", detect_lang(), name=name))
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


#: pydantic's error types worded in the catalog (`cfg.type.*`); others keep pydantic's words
_WORDED = frozenset(
    {
        "missing",
        "extra_forbidden",
        "literal_error",
        "greater_than",
        "greater_than_equal",
        "less_than",
        "less_than_equal",
        "int_parsing",
        "int_from_float",
        "float_parsing",
        "bool_parsing",
        "string_type",
        "dict_type",
        "list_type",
    }
)


def _explain(err: Mapping[str, Any]) -> str:
    """What is wrong with one value, in the reader's language (FIELDLAB_LANG, `--lang`)."""
    kind, msg, value = err["type"], err["msg"], err.get("input")
    if kind == "value_error":
        return msg.removeprefix("Value error, ")
    if kind in _WORDED:
        limits = {  # gt, ge, expected, …: 0 rather than 0.0
            k: str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)
            for k, v in err.get("ctx", {}).items()
        }
        return t(f"cfg.type.{kind}", detect_lang(), value=_show(value), **limits)
    return f"{_show(value)}: {msg[0].lower() + msg[1:]}"
