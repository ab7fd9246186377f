"""The dashboard's users file: who may log in and in which role. The admin manages it with
`fieldlab users`; passwords are kept only as bcrypt hashes, and the file also holds the key
that signs the session cookie (so it is written readable by its owner only).

```yaml
cookie: {name: fieldlab_session, key: 9f3c…, expiry_hours: 8}
users:
  anna: {name: Anna de Vries, role: operator, password: $2b$12$…}
stations:
  press-1: {pin: $2b$12$…}
```

A station is a tablet at one machine (#29): its PIN opens that machine's terminal and nothing
else, so the people of every shift use it without a personal login.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any, Literal

import bcrypt
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from fieldlab.config import ConfigError, SiteConfig
from fieldlab.config.loader import format_validation_error

Role = Literal["viewer", "operator", "admin"]
ROLES: tuple[Role, ...] = ("viewer", "operator", "admin")
MIN_PASSWORD = 8
#: a station PIN: digits only, long enough that bcrypt and the lock-out make guessing hopeless
PIN_DIGITS = (6, 12)


class UserRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = ""
    role: Role = "viewer"
    password: str = Field(description="bcrypt hash, never the password")


class StationRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")
    pin: str = Field(description="bcrypt hash, never the PIN")


class CookieSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = "fieldlab_session"
    key: str = Field(default_factory=lambda: secrets.token_hex(32))
    expiry_hours: float = Field(default=8.0, gt=0, le=24 * 30)


class UsersFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    cookie: CookieSettings = Field(default_factory=CookieSettings)
    users: dict[str, UserRecord] = Field(default_factory=dict)
    stations: dict[str, StationRecord] = Field(default_factory=dict)

    def set_station(self, machine: str, pin: str) -> None:
        low, high = PIN_DIGITS
        if not (pin.isdigit() and low <= len(pin) <= high):
            raise ConfigError(f"a station PIN is {low} to {high} digits")
        self.stations[machine] = StationRecord(pin=_hash(pin))

    def remove_station(self, machine: str) -> None:
        if self.stations.pop(machine, None) is None:
            known = ", ".join(sorted(self.stations)) or "none yet"
            raise ConfigError(f"no station {machine!r} (stations: {known})")

    def check_station(self, machine: str, pin: str) -> bool:
        station = self.stations.get(machine)
        return station is not None and bcrypt.checkpw(pin.encode(), station.pin.encode())

    def add(self, login: str, password: str, role: Role, name: str = "") -> None:
        if login in self.users:
            raise ConfigError(f"user {login!r} exists already; `fieldlab users passwd {login}`")
        self.users[login] = UserRecord(name=name or login, role=role, password=hash_pw(password))

    def passwd(self, login: str, password: str) -> None:
        self.users[self._known(login)].password = hash_pw(password)

    def remove(self, login: str) -> None:
        del self.users[self._known(login)]

    def set_role(self, login: str, role: Role) -> None:
        self.users[self._known(login)].role = role

    def check(self, login: str, password: str) -> bool:
        user = self.users.get(login)
        return user is not None and bcrypt.checkpw(password.encode(), user.password.encode())

    def credentials(self) -> dict[str, Any]:
        """The form streamlit-authenticator reads (its own user records, our hashes)."""
        return {
            "usernames": {
                login: {
                    "first_name": u.name,
                    "last_name": "",
                    "email": f"{login}@fieldlab.invalid",
                    "password": u.password,
                    "roles": [u.role],
                }
                for login, u in self.users.items()
            }
        }

    def _known(self, login: str) -> str:
        if login not in self.users:
            known = ", ".join(sorted(self.users)) or "none yet"
            raise ConfigError(f"no user {login!r} (users: {known})")
        return login


def hash_pw(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise ConfigError(f"a password needs at least {MIN_PASSWORD} characters")
    return _hash(password)


def _hash(secret: str) -> str:
    return bcrypt.hashpw(secret.encode(), bcrypt.gensalt()).decode()


def users_path(site: SiteConfig, config_path: Path) -> Path | None:
    """The users file the site names (relative to the site file); None: no login."""
    auth = site.dashboard.auth
    if auth is None:
        return None
    path = Path(auth.users_file)
    return path if path.is_absolute() else config_path.parent / path


def load_users(path: Path) -> UsersFile:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: no users yet; add the first with "
            "`fieldlab users add NAME --role admin --config SITE.yaml`"
        ) from None
    try:
        return UsersFile.model_validate(yaml.safe_load(text) or {})
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, str(path))) from None


def save_users(path: Path, users: UsersFile) -> None:
    """Written whole and readable by its owner only: it holds the cookie key and the hashes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write("# fieldlab dashboard users: manage with `fieldlab users`; passwords are hashes\n")
        yaml.safe_dump(users.model_dump(), f, sort_keys=False, allow_unicode=True)
    os.replace(tmp, path)
