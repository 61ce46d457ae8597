"""The DfE vocabulary: UPN check letters, and a category for every attendance code."""

import pytest

from mis.codes import (
    ATTENDANCE_CODES,
    CODES_BY_CATEGORY,
    YEAR_GROUPS,
    MarkCategory,
    mark_category,
    mark_meaning,
    upn_check_letter,
    upn_problem,
    year_group_label,
)


@pytest.mark.parametrize(
    "upn",
    [
        "H801200001001",  # a permanent UPN
        "G80120000101A",  # a temporary UPN: its last character is a letter
    ],
)
def test_valid_upns(upn):
    assert upn_problem(upn) is None
    assert upn_check_letter(upn[1:]) == upn[0]


def test_a_wrong_check_letter_names_the_right_one():
    assert upn_problem("Z801200001001") == (
        "The check letter is wrong: for these digits it should be H."
    )


@pytest.mark.parametrize("upn", ["H80120000100", "H8012000010011", "", "H"])
def test_a_wrong_length_is_refused(upn):
    assert upn_problem(upn) == f"A UPN has 13 characters; this one has {len(upn)}."


@pytest.mark.parametrize("upn", ["h801200001001", "g80120000101a"])
def test_lowercase_is_refused(upn):
    assert upn_problem(upn) == "A UPN is written in capital letters and digits."


@pytest.mark.parametrize("upn", ["H8012000A1001", "HA01200001001", "H8012000 1001"])
def test_letters_or_spaces_in_the_middle_are_refused(upn):
    assert upn_problem(upn) == (
        "A UPN has 11 digits after its check letter, then a digit or letter."
    )


@pytest.mark.parametrize("last", ["I", "O", "S"])
def test_a_temporary_upn_cannot_end_in_a_letter_the_check_letters_leave_out(last):
    assert upn_problem(f"X80120000101{last}") == f"A UPN cannot end in “{last}”."


def test_every_code_has_exactly_one_category_and_a_meaning():
    for code, (category, meaning) in ATTENDANCE_CODES.items():
        assert isinstance(category, MarkCategory)
        assert mark_category(code) is category
        assert mark_meaning(code) == meaning and meaning
    every = [code for codes in CODES_BY_CATEGORY.values() for code in codes]
    assert sorted(every) == sorted(ATTENDANCE_CODES)
    assert len(every) == len(set(every))
    assert all(CODES_BY_CATEGORY[category] for category in MarkCategory)


def test_some_codes_fall_where_the_guidance_puts_them():
    assert mark_category("/") == mark_category("\\") == MarkCategory.PRESENT
    assert mark_category("L") == MarkCategory.PRESENT  # late before the register closed
    assert mark_category("I") == MarkCategory.AUTHORISED
    assert mark_category("U") == MarkCategory.UNAUTHORISED  # late after it closed
    assert mark_category("#") == MarkCategory.NOT_POSSIBLE


def test_year_group_labels():
    assert year_group_label(-2) == "Nursery 1"
    assert year_group_label(0) == "Reception"
    assert year_group_label(11) == "Year 11"
    assert list(YEAR_GROUPS) == list(range(-2, 15))
