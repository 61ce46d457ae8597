"""The rules for sending data sharing requests (``sharing.rules``): pure, so no database."""

import pytest

from sharing import rules
from sharing.models import AccessLevel
from sharing.rules import (
    ALL_ROLES,
    RECIPIENT_ROLES,
    level_clean,
    no_recipient_reason,
    recipient_roles_chosen,
    recipient_roles_clean,
    requestable_levels,
    send_skip_reason,
)

L1, L2, L3 = (
    AccessLevel.DFE_DATA,
    AccessLevel.DFE_AND_MIS_DATA,
    AccessLevel.DFE_MIS_AND_GROUP_ACTIONS,
)


class TestRecipientRoles:
    def test_all_means_the_four_in_order(self):
        assert recipient_roles_clean([ALL_ROLES]) == RECIPIENT_ROLES
        assert recipient_roles_clean(["ALL", "Teacher"]) == RECIPIENT_ROLES
        assert recipient_roles_chosen(["all"]) == RECIPIENT_ROLES
        assert RECIPIENT_ROLES == (
            "Executive Head Teacher",
            "Head Teacher",
            "Deputy Head Teacher",
            "Data Manager",
        )

    def test_spelt_and_ordered_as_the_roles(self):
        chosen = [" data manager", "HEAD TEACHER", "Head Teacher"]
        assert recipient_roles_clean(chosen) == ("Head Teacher", "Data Manager")
        assert recipient_roles_chosen(chosen) == ("Head Teacher", "Data Manager")

    @pytest.mark.parametrize(
        ("roles", "message"),
        [
            (["Head Teacher", "Teacher"], "Not a role requests go to: teacher"),
            ([], "Choose who should receive the request."),
        ],
    )
    def test_clean_refuses_unknown_roles_and_none(self, roles, message):
        with pytest.raises(ValueError, match=message):
            recipient_roles_clean(roles)

    def test_chosen_leaves_unknown_roles_out(self):
        assert recipient_roles_chosen(["Head Teacher", "Teacher"]) == ("Head Teacher",)
        assert recipient_roles_chosen([]) == ()

    def test_the_api_choices_are_the_roles_and_all(self):
        assert list(rules.ROLE_CHOICES) == [*RECIPIENT_ROLES, "all"]


class TestLevels:
    @pytest.mark.parametrize(("value", "level"), [(1, L1), ("2", L2), (L3, L3)])
    def test_clean(self, value, level):
        assert level_clean(value) is level

    @pytest.mark.parametrize("value", [0, 4, "3.0", "", None, "high"])
    def test_clean_refuses_anything_else(self, value):
        with pytest.raises(ValueError, match=r"Choose an access level: 1, 2 or 3\."):
            level_clean(value)

    @pytest.mark.parametrize(
        ("approved", "offered"),
        [
            ((), [L1, L2, L3]),  # no agreement yet: any level
            ((L1,), [L2, L3]),
            ((L2, L1, L3), [L2, L3]),  # above the lowest of the chosen schools
            ((L3,), []),
        ],
    )
    def test_requestable_levels_are_above_the_lowest_approved(self, approved, offered):
        assert requestable_levels(approved) == offered
        assert requestable_levels() == [L1, L2, L3]


class TestSendSkipReason:
    SENDS = {
        "is_member": True,
        "pending": False,
        "approved_level": 0,
        "level": L2,
        "has_recipients": True,
        "roles": ["Head Teacher", "Data Manager"],
    }

    def test_sent(self):
        assert send_skip_reason(**self.SENDS) == ""
        assert send_skip_reason(**{**self.SENDS, "approved_level": L1}) == ""  # a raise

    @pytest.mark.parametrize(
        ("change", "reason"),
        [
            ({"is_member": False, "pending": True}, "not one of this group’s schools"),
            ({"pending": True, "approved_level": L3}, "a request is already pending"),
            ({"approved_level": L2}, "already approved at this level or higher"),
            ({"approved_level": L3, "has_recipients": False}, rules.ALREADY_AT_LEVEL),
            (
                {"has_recipients": False},
                "no Head Teacher or Data Manager with an email address",
            ),
        ],
    )
    def test_the_first_reason_that_applies(self, change, reason):
        assert send_skip_reason(**{**self.SENDS, **change}) == reason

    def test_no_recipient_reason_names_the_roles(self):
        assert no_recipient_reason(["Head Teacher"]) == "no Head Teacher with an email address"
        assert no_recipient_reason(RECIPIENT_ROLES) == (
            "no Executive Head Teacher, Head Teacher, Deputy Head Teacher or Data Manager "
            "with an email address"
        )
