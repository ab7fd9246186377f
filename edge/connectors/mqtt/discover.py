"""`fieldlab discover mqtt`: listen a while and say which topics arrive, how often, and the shape
of their payloads; suggest the topic template that reads them."""

from __future__ import annotations

import argparse
import os
import sys

from fieldlab.discovery import check_address_url
from fieldlab.domain.durations import duration_arg
from fieldlab.i18n import detect_lang, t

HELP = "listen: which topics arrive and their payload shapes"
EXAMPLES = ["fieldlab discover mqtt mqtt://127.0.0.1:1883 --topic '#' --for 30s"]


def add_arguments(q: argparse.ArgumentParser) -> None:
    q.add_argument("url", help="mqtt://host:port")
    q.add_argument("--topic", default="#")
    q.add_argument("--for", dest="seconds", type=duration_arg, default=duration_arg("10s"))
    q.add_argument("--username-env", help="environment variable with the user name")
    q.add_argument("--password-env", help="environment variable with the password")


def run(args: argparse.Namespace) -> int:
    from fieldlab.connectors.mqtt.discover_topics import listen, suggest_template

    user = os.environ.get(args.username_env) if args.username_env else None
    password = os.environ.get(args.password_env) if args.password_env else None
    check_address_url(args.url, ("mqtt", "mqtts", "tcp", "ssl"), "mqtt://192.168.0.10:1883")
    try:
        stats = listen(args.url, args.topic, args.seconds / 1000, user, password)
    except (OSError, ConnectionError) as exc:
        print(f"fieldlab discover: {exc}", file=sys.stderr)
        return 2
    lang = detect_lang()
    print(f"{args.url}: {t('disc.topics', lang, n=len(stats), s=f'{args.seconds / 1000:g}')}\n")
    for topic, st in sorted(stats.items()):
        keys = f" keys {','.join(sorted(st.keys))}" if st.keys else ""
        print(f"{topic:<60} {st.count:>6}×  {st.shape}{keys}  last: {st.last}")
    guess = suggest_template(sorted(stats))
    if guess:
        print(f"\n{t('disc.template', lang, guess=guess)}")
    return 0
