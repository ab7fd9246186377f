"""Tables as files the reader's spreadsheet opens right: CSV in the reader's convention, Excel
with real numbers and number formats."""

from __future__ import annotations

import io
from collections.abc import Collection

import pandas as pd
from openpyxl.utils import get_column_letter

from fieldlab.i18n import Lang
from fieldlab.i18n.formats import csv_options


def to_csv(df: pd.DataFrame, lang: Lang, percent: Collection[str] = ()) -> bytes:
    """Dutch Excel splits on `;` and reads a decimal comma; English on `,` with a point. Ratio
    columns (``percent``) are written as percentages with one decimal (42,5), since a CSV
    cell has no format to say "this is 0.425 shown as a percentage"."""
    out = df.copy()
    for col in percent:
        if col in out:
            out[col] = (out[col].astype(float) * 100).round(1)
            out = out.rename(columns={col: f"{col} %"})
    opts = csv_options(lang)
    text = out.to_csv(index=False, sep=opts["sep"], decimal=opts["decimal"], float_format="%.2f")
    return text.encode(opts["encoding"])


def to_xlsx(df: pd.DataFrame, percent: Collection[str] = ()) -> bytes:
    """Numeric cells, never text: ratios formatted `0.0%`, hours `0.00`, counts `#,##0`. Excel
    shows them in the reader's own locale."""
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as writer:
        df.to_excel(writer, index=False, sheet_name="fieldlab")
        sheet = writer.sheets["fieldlab"]
        for j, col in enumerate(df.columns, start=1):
            if col in percent:
                fmt = "0.0%"
            elif str(col).endswith(" h"):
                fmt = "0.00"
            elif pd.api.types.is_integer_dtype(df[col]) or pd.api.types.is_float_dtype(df[col]):
                fmt = "#,##0"
            else:
                continue
            for (cell,) in sheet.iter_rows(min_row=2, min_col=j, max_col=j):
                cell.number_format = fmt
            sheet.column_dimensions[get_column_letter(j)].width = max(10, len(str(col)) + 2)
    return buf.getvalue()
