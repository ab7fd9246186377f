"""Interchange files (domain.md §1): JSON Lines or CSV ``ts,machine,signal,value``.

Reading yields every line's outcome, a sample or the reason it is not one, so a caller can keep
the good lines, keep the bad ones with their reason, and report progress by bytes read.
"""

from __future__ import annotations

import codecs
import csv
import functools
import itertools
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

from fieldlab.domain.samples import (
    Sample,
    SampleError,
    format_ts,
    make_sample,
    sample_from_mapping,
)

Format = Literal["jsonl", "csv"]
CSV_COLUMNS = ("ts", "machine", "signal", "value")


@dataclass(frozen=True, slots=True)
class Line:
    number: int
    text: str
    sample: Sample | None
    error: str | None


def detect_format(path: Path) -> Format:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    with path.open("rb") as fh:
        for raw in fh:
            if raw.strip():
                return "jsonl" if raw.lstrip().startswith(b"{") else "csv"
    return "jsonl"


class _CountingLines:
    """Decoded lines of a binary file, counting the bytes read for progress. UTF-8 with or
    without the BOM Excel puts first; a line that is not UTF-8 is read as Windows' cp1252 (what
    Excel's plain "CSV" writes on a Dutch or English Windows laptop)."""

    def __init__(self, fh: IO[bytes]):
        self._fh = fh
        self.bytes_read = 0

    def __iter__(self) -> Iterator[str]:
        first = True
        for raw in self._fh:
            self.bytes_read += len(raw)
            if first:
                raw, first = raw.removeprefix(codecs.BOM_UTF8), False
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError:
                yield raw.decode("cp1252", errors="replace")


def read_samples(path: Path, fmt: Format | None = None) -> tuple[_CountingLines, Iterator[Line]]:
    """Open ``path``; returns the byte counter and an iterator over its lines' outcomes."""
    fmt = fmt or detect_format(path)
    fh = path.open("rb")
    lines = _CountingLines(fh)
    gen = _jsonl(lines) if fmt == "jsonl" else _csv(lines)

    def closing() -> Iterator[Line]:
        try:
            yield from gen
        finally:
            fh.close()

    return lines, closing()


def _jsonl(lines: Iterable[str]) -> Iterator[Line]:
    for number, text in enumerate(lines, start=1):
        stripped = text.strip()
        if not stripped:
            continue
        try:
            obj = json.loads(stripped)
        except json.JSONDecodeError as exc:
            yield Line(number, stripped, None, f"not valid JSON ({exc.msg} at column {exc.colno})")
            continue
        try:
            yield Line(number, stripped, sample_from_mapping(obj), None)
        except SampleError as exc:
            yield Line(number, stripped, None, str(exc))


#: a number as Dutch Excel writes it in a `;` file: a decimal comma, no thousands separator
_DECIMAL_COMMA = re.compile(r"^\s*-?\d+,\d+\s*$")


def _csv(lines: Iterable[str]) -> Iterator[Line]:
    """`ts,machine,signal,value` as the kit writes it, or as Excel saves it: `;` between the
    columns (Excel where the decimal sign is a comma) and then `42,5` for 42.5, CRLF line ends."""
    it = iter(lines)
    head: list[str] = []
    for text in it:  # the delimiter from the first line that says anything
        head.append(text)
        if text.strip():
            break
    delimiter = ";" if head and head[-1].count(";") > head[-1].count(",") else ","
    reader = csv.reader(itertools.chain(head, it), delimiter=delimiter)
    comma_decimals = delimiter == ";"
    header: list[str] | None = None
    for row in reader:
        number = reader.line_num
        text = ",".join(row)
        if not row or all(not c.strip() for c in row):
            continue
        if header is None:
            header = [c.strip().strip('"').lower() for c in row]
            if sorted(header) != sorted(CSV_COLUMNS):
                yield Line(
                    number,
                    text,
                    None,
                    f"CSV header must be {','.join(CSV_COLUMNS)}, got {','.join(row)}",
                )
                return
            continue
        if len(row) != len(header):
            yield Line(number, text, None, f"expected {len(header)} columns, got {len(row)}")
            continue
        rec = dict(zip(header, row, strict=True))
        value = rec["value"]
        if comma_decimals and _DECIMAL_COMMA.match(value):
            value = value.replace(",", ".")
        try:
            sample = make_sample(
                rec["ts"].strip(),
                rec["machine"].strip(),
                rec["signal"].strip(),
                value,
                from_text=True,
            )
            yield Line(number, text, sample, None)
        except SampleError as exc:
            yield Line(number, text, None, str(exc))


def write_jsonl(samples: Iterable[Sample], fh: IO[str]) -> int:
    """One compact JSON object a line, as `json.dumps(s.to_json())` writes it, written without
    building the dict and encoding it whole (a simulator's truth log runs to millions of lines:
    that was most of a simulated fortnight's time)."""
    n = 0
    lines = []
    for s in samples:
        v = s.value
        value = repr(v) if type(v) is int or type(v) is float else _json(v)
        lines.append(
            f'{{"ts":"{format_ts(s.ts)}","machine":{_json(s.machine)},'
            f'"signal":{_json(s.signal)},"value":{value}}}\n'
        )
        n += 1
        if len(lines) >= 1000:
            fh.write("".join(lines))
            lines.clear()
    fh.write("".join(lines))
    return n


@functools.lru_cache(maxsize=4096)
def _json(value: object) -> str:
    """A name or text value as JSON (the same few repeat on every line)."""
    return json.dumps(value)
