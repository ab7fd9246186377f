"""Keeping the gettext catalogs (``en.po``, ``nl.po`` beside this file) in step with the code.

The msgid of every text is the key the code passes to `fieldlab.i18n.t`, so a text can be
reworded in English without touching its translation. `python -m fieldlab.i18n.catalogs`
(``make catalogs``) extracts the keys the code names with Babel, adds the new ones to each
catalog with an empty translation, compiles ``.mo`` files for the wheel and lists what is still
untranslated. Keys built at run time (a state, a flag, a reason code) are not extracted: their
families are `DYNAMIC`, and a key is never dropped by an update, only reported as unused.
"""

from __future__ import annotations

import ast
import importlib
import sys
from collections.abc import Collection, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

HERE = Path(__file__).parent
DOMAIN_NAME = "fieldlab"
#: The kit's code, where `t("…")` calls are looked for.
PACKAGES = (
    "fieldlab",
    "fieldlab.dashboards",
    "fieldlab.simulators",
    "fieldlab.bench",
    "fieldlab.recipes",
)
#: Calls whose first argument is a catalog key (``N_`` marks a key a loop passes to `t` later;
#: ``say`` is a command's print-a-line-of-text helper).
KEYWORDS = {"t": None, "page_setup": None, "N_": None, "say": None}
#: Key families made at run time from a value (f"state.{state}"): used, though not extracted.
DYNAMIC = (
    "state.",
    "flag.",
    "reason.",
    "scrap.",
    "letter.",
    "role.",
    "period.",
    "alert.",
    "alerts_event.",
    "clock.",
    "report.",
    "ex.",
    "tr.",
    "sig.",
    "unit.",
    "health.",
    "shift.",
    "err.",
    "cfg.type.",
    "stack.",
    "sim.",
)


def po_path(lang: str) -> Path:
    return HERE / f"{lang}.po"


def mo_path(lang: str) -> Path:
    return HERE / f"{lang}.mo"


def languages() -> list[str]:
    return sorted(p.stem for p in HERE.glob("*.po"))


def read(lang: str) -> Catalog:
    with po_path(lang).open("rb") as f:
        return read_po(f, locale=lang, domain=DOMAIN_NAME)


def used_keys() -> dict[str, list[str]]:
    """Every key the code names literally, with where (file:line)."""
    found: dict[str, list[str]] = {}
    seen: set[Path] = set()
    for name in PACKAGES:
        root = Path(importlib.import_module(name).__file__ or "").parent
        if root in seen:
            continue
        seen.add(root)
        skip = [Path(importlib.import_module(p).__file__ or "").parent for p in PACKAGES]
        skip = [s for s in skip if s != root and s.is_relative_to(root)]

        def outside(d: str, root: Path = root, skip: list[Path] = skip) -> bool:
            return not any((root / d).is_relative_to(s) for s in skip)

        for filename, line, key, _comments, _ctx in extract_from_dir(
            root,
            method_map=[("**.py", extract_keys)],  # type: ignore[list-item]
            keywords=KEYWORDS,
            directory_filter=outside,
        ):
            if isinstance(key, str) and key:
                found.setdefault(key, []).append(f"{root.name}/{filename}:{line}")
    return found


def extract_keys(
    fileobj: IO[bytes],
    keywords: Mapping[str, Any],
    comment_tags: Collection[str],
    options: Mapping[str, Any],
) -> Iterator[tuple[int, str, str, list[str]]]:
    """Babel's extraction method for the kit: the syntax tree, not the token stream, so a
    `t("…")` inside an f-string counts (Python 3.11 tokenizes an f-string as one string), and
    both keys of `t("a" if x else "b")` are found."""
    tree = ast.parse(fileobj.read())
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        f = node.func
        name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
        if name not in keywords:
            continue
        arg = node.args[0]
        for part in (arg.body, arg.orelse) if isinstance(arg, ast.IfExp) else (arg,):
            if isinstance(part, ast.Constant) and isinstance(part.value, str):
                yield node.lineno, name, part.value, []


def dynamic(key: str) -> bool:
    return key.startswith(DYNAMIC)


def untranslated(cat: Catalog) -> Iterator[str]:
    for m in cat:
        if m.id and (not m.string or m.fuzzy):
            yield str(m.id)


def compile_mo(lang: str) -> None:
    cat = read(lang)
    with mo_path(lang).open("wb") as f:
        write_mo(f, cat, use_fuzzy=False)


def update() -> int:
    """Add the code's new keys to every catalog, compile, and say what needs a person."""
    used = used_keys()
    problems = 0
    for lang in languages():
        cat = read(lang)
        added = [k for k in sorted(used) if k not in cat]
        for key in added:
            cat.add(
                key,
                "",
                locations=[(w.rsplit(":", 1)[0], int(w.rsplit(":", 1)[1])) for w in used[key][:1]],
            )
        if added:
            with po_path(lang).open("wb") as f:
                write_po(f, cat, width=100, sort_output=False, include_lineno=False)
        compile_mo(lang)
        missing = list(untranslated(cat))
        unused = [str(m.id) for m in cat if m.id and m.id not in used and not dynamic(str(m.id))]
        print(f"{lang}.po: {len(cat)} texts, {len(added)} added, {len(missing)} untranslated")
        for key in missing:
            print(f"  untranslated: {key}")
        for key in unused:
            print(f"  unused (no t() names it, not a run-time family): {key}")
        problems += len(missing)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(update())
