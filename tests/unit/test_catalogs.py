"""The gettext catalogs (#28 item 1): every text the code names is there in every language,
translated, with the same placeholders; the compiled `.mo` files are the `.po` files."""

from __future__ import annotations

import string
import typing

import pytest

from fieldlab.config.site import SiteConfig
from fieldlab.domain.alerts import AlertEventKind
from fieldlab.domain.states import STATES
from fieldlab.i18n import LANGS, catalog, t
from fieldlab.i18n.catalogs import dynamic, languages, mo_path, read, untranslated, used_keys
from fieldlab.simulators.archetypes import ARCHETYPES
from fieldlab.simulators.synthetic import FAULT_REASONS

#: The flags the OEE engine sets (domain.md §5), read aloud wherever a figure is shown.
FLAGS = (
    "performance_above_1",
    "counts_across_gap",
    "counter_backstep",
    "counts_inconsistent",
    "no_counts",
    "quality_assumed_1",
    "no_ideal_cycle_time",
    "unknown_product",
    "no_data",
)


def test_the_catalogs_are_the_languages_the_kit_offers():
    assert languages() == sorted(LANGS)


@pytest.mark.parametrize("lang", LANGS)
def test_every_text_is_translated(lang):
    assert list(untranslated(read(lang))) == []


@pytest.mark.parametrize("lang", LANGS)
def test_every_key_the_code_names_has_a_text(lang):
    missing = {k: where for k, where in used_keys().items() if k not in catalog(lang)}
    assert missing == {}, "run `make catalogs`, then translate what it lists"


def test_every_key_made_at_run_time_has_a_text():
    from fieldlab.dashboards.context import PERIODS
    from fieldlab.dashboards.users import Role

    keys = [f"state.{s.value}" for s in STATES]
    keys += [f"flag.{f}" for f in FLAGS]
    keys += [f"letter.{k}" for k in ("availability", "performance", "quality")]
    keys += [f"role.{r}" for r in typing.get_args(Role)]
    keys += [f"alerts_event.{e}" for e in typing.get_args(AlertEventKind)]
    keys += [f"period.{p}" for p in PERIODS]
    # the stop and scrap reasons a site has by default, and every reason the simulators and
    # the synthetic history give (a code without words is shown as written, in no language)
    defaults = SiteConfig()
    keys += [f"reason.{code}" for code in defaults.reasons]
    keys += [f"scrap.{code}" for code in defaults.scrap_reasons]
    keys += [f"reason.{r}" for a in ARCHETYPES.values() for r in a.fault_reasons]
    keys += [f"reason.{r}" for r in FAULT_REASONS]
    for lang in LANGS:
        assert [k for k in keys if k not in catalog(lang)] == [], lang
    assert all(t(k, "nl") != k for k in keys)


def test_no_text_is_kept_that_nothing_shows():
    used = used_keys()
    assert [k for k in catalog("en") if k not in used and not dynamic(k)] == []


def _fields(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}


@pytest.mark.parametrize("lang", [lang for lang in LANGS if lang != "en"])
def test_a_translation_fills_in_what_the_english_text_does(lang):
    en = catalog("en")
    wrong = {k: (en[k], s) for k, s in catalog(lang).items() if _fields(s) != _fields(en[k])}
    assert wrong == {}


@pytest.mark.parametrize("lang", LANGS)
def test_the_compiled_catalog_is_the_po_file(lang):
    """`make catalogs` compiles the `.mo` the wheel carries: a `.po` edited without it fails."""
    po = {str(m.id): str(m.string) for m in read(lang) if m.id and m.string}
    assert mo_path(lang).exists() and catalog(lang) == po
