"""`fieldlab users`: who may log in to the dashboard on a server, and in which role."""

from __future__ import annotations

import argparse
import getpass
import os
from pathlib import Path

from fieldlab.cli.common import add_config_args, load_config, subcommand
from fieldlab.config import ConfigError
from fieldlab.i18n import detect_lang, t

HELP = "Manage the dashboard's users and roles (a server with a login)."
EPILOG = """\
roles:
  viewer    reads every page
  operator  also enters stop reasons (the entry records who, marked manual)
  admin     also sees the users page; manages users with this command on the server

stations (a tablet at one machine, used by every shift without a personal login):
  fieldlab users station press-1              # asks a PIN of 6 to 12 digits, twice
  fieldlab users station press-1 --remove
  the tablet opens  http://SERVER:8501/?station=press-1  (or `fieldlab dashboard --terminal
  press-1` on the tablet itself): the PIN opens that machine's terminal and nothing else

examples:
  fieldlab users add anna --role admin --config site.yaml     # asks the password twice
  fieldlab users add piet --role operator --name "Piet de Vries"
  fieldlab users role piet viewer
  fieldlab users passwd anna
  fieldlab users list
  fieldlab users remove piet

The site file names the users file:  dashboard: {auth: {users_file: users.yaml}}
Passwords and PINs are stored as bcrypt hashes only. Without a terminal (a script, the compose
stack) the password or PIN is read from the environment variable FIELDLAB_PASSWORD."""

PASSWORD_ENV = "FIELDLAB_PASSWORD"


def register(sub: argparse._SubParsersAction) -> None:
    p = subcommand(sub, "users", HELP, EPILOG)
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="add a user (asks the password)")
    add.add_argument("login")
    add.add_argument("--role", choices=("viewer", "operator", "admin"), default="viewer")
    add.add_argument("--name", default="", help="full name shown in the dashboard")
    passwd = actions.add_parser("passwd", help="set a user's password")
    passwd.add_argument("login")
    role = actions.add_parser("role", help="change a user's role")
    role.add_argument("login")
    role.add_argument("role", choices=("viewer", "operator", "admin"))
    remove = actions.add_parser("remove", help="remove a user")
    remove.add_argument("login")
    station = actions.add_parser("station", help="set (or remove) a machine's station PIN")
    station.add_argument("login", metavar="MACHINE")
    station.add_argument("--remove", action="store_true", help="the tablet needs a login again")
    actions.add_parser("list", help="the users and their roles (never a password)")
    for action in (add, passwd, role, remove, station, actions.choices["list"]):
        add_config_args(action, store=False)
        action.set_defaults(run=run)


def _password(login: str, pin: bool = False) -> str:
    from_env = os.environ.get(PASSWORD_ENV)
    if from_env is not None:
        return from_env
    lang = detect_lang()
    first = getpass.getpass(t("users.pin" if pin else "users.password", lang, login=login))
    if getpass.getpass(t("users.again", lang)) != first:
        raise ConfigError(t("users.differ", lang))
    return first


def run(args: argparse.Namespace) -> int:
    from fieldlab.dashboards.users import UsersFile, load_users, save_users, users_path

    site, config = load_config(args)
    config = config or Path("site.yaml")
    path = users_path(site, config)
    if path is None:
        raise ConfigError(t("users.no_login", detect_lang(), config=config))
    users = load_users(path) if path.exists() else UsersFile()
    if args.action == "list":
        for login, u in users.users.items():
            print(f"{login:<16} {u.role:<9} {u.name}")
        for machine in users.stations:
            print(f"{machine:<16} {'station':<9} {t('users.station_pin', detect_lang())}")
        if not users.users:
            print(f"{path}: {t('users.none', detect_lang())}")
        return 0
    if args.action == "add":
        users.add(args.login, _password(args.login), args.role, args.name)
    elif args.action == "passwd":
        users.passwd(args.login, _password(args.login))
    elif args.action == "role":
        users.set_role(args.login, args.role)
    elif args.action == "remove":
        users.remove(args.login)
    elif args.action == "station" and args.remove:
        users.remove_station(args.login)
    elif args.action == "station":
        if args.login not in site.machines:
            known = ", ".join(site.machines) or "none"
            raise ConfigError(f"{config}: no machine {args.login!r} (machines: {known})")
        users.set_station(args.login, _password(args.login, pin=True))
    save_users(path, users)
    print(f"{path}: {args.action} {args.login}: {t('users.done', detect_lang())}")
    return 0
