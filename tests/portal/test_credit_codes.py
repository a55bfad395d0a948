import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from outage_portal.validators import credit_code_check_character, validate_credit_code, validate_taxpayer_id


def test_the_design_example_is_valid():
    validate_credit_code("91350100M000100Y43")


def test_check_character_is_computed_with_gb32100_weights():
    assert credit_code_check_character("91350100M000100Y4") == "3"


@pytest.mark.parametrize(
    ("code", "error_code"),
    [
        ("91350100M000100Y44", "credit_code_checksum"),
        ("91350100M000100Y4", "credit_code_length"),
        ("91350100M000100YO3", "credit_code_chars"),
        ("", "credit_code_length"),
    ],
)
def test_bad_credit_codes_say_what_is_wrong(code, error_code):
    with pytest.raises(ValidationError) as exc:
        validate_credit_code(code)
    assert exc.value.error_list[0].code == error_code


def test_checksum_message_names_the_expected_character_in_chinese_and_english():
    with pytest.raises(ValidationError) as exc:
        validate_credit_code("91350100M000100Y44")
    error = exc.value.error_list[0]
    with translation.override("zh-hans"):
        chinese = str(error.message) % error.params
    with translation.override("en"):
        english = str(error.message) % error.params
    assert "校验" in chinese and "3" in chinese
    assert "checksum" in english and "should be 3" in english


def test_full_width_and_lower_case_are_folded():
    validate_credit_code("９１３５０１００m０００１００y４３")


@pytest.mark.parametrize("legacy", ["110108123456789", "11010812345678901", "11010812345678901234"])
def test_older_taxpayer_numbers_are_accepted_without_checksum(legacy):
    validate_taxpayer_id(legacy)


def test_taxpayer_id_of_wrong_length_is_refused():
    with pytest.raises(ValidationError):
        validate_taxpayer_id("1234")
