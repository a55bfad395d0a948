"""One catalog is the single source of every Chinese string, complete and without guesses."""

from pathlib import Path

from django.conf import settings
from django.utils import translation

from outage_portal.catalog_check import catalog_problems

CATALOG = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


def test_the_project_catalog_has_no_untranslated_or_fuzzy_entry():
    assert catalog_problems(str(CATALOG)) == {"untranslated": [], "fuzzy": []}


def test_no_app_keeps_a_catalog_of_its_own():
    assert list(Path(settings.BASE_DIR).glob("*/locale/*/LC_MESSAGES/django.po")) == []


def test_our_words_win_over_a_third_party_catalog():
    with translation.override("zh-hans"):
        assert str(translation.gettext("Dashboard")) == "工作台"
        assert str(translation.gettext("Period")) == "所属期"
