"""Charts that explain themselves (#28 item 4): the same line style for the same meaning in both
languages, a legend where two series share an axis, and `80 %` on axes as in the text."""

from __future__ import annotations

import pandas as pd
import pytest

from fieldlab.dashboards import charts
from fieldlab.i18n import t
from fieldlab.i18n.formats import vega_locales


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_good_is_solid_and_target_dashed_in_every_language(lang):
    good, target = t("good", lang), t("target", lang)
    df = pd.DataFrame(
        {
            "time": pd.to_datetime(["2026-03-02 06:00", "2026-03-02 07:00"] * 2),
            "units": [0, 100, 0, 120],
            "series": [good, good, target, target],
        }
    )
    spec = charts.worm(df, ("2026-03-02 06:00", "2026-03-02 08:00"), good, target).to_dict()
    enc = spec["encoding"]
    dash = dict(
        zip(enc["strokeDash"]["scale"]["domain"], enc["strokeDash"]["scale"]["range"], strict=True)
    )
    colour = dict(zip(enc["color"]["scale"]["domain"], enc["color"]["scale"]["range"], strict=True))
    assert dash[good] == [1, 0] and dash[target] == [6, 4]
    assert colour[good] == "#2e7d32" and colour[target] == "#616161"
    assert enc["color"]["legend"] and enc["strokeDash"]["legend"]  # one legend, both styles


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_percent_axes_read_as_the_text(lang):
    assert vega_locales(lang)["numberFormatLocale"]["percent"] == " %"
