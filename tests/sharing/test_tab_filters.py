"""Data Sharing Agreements: the filters count the tab shown, "Select all N matching"
ticks every row (server-rendered, without JavaScript), the send panel names the chosen
schools, and the only possible level comes chosen."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.audit import system_actor
from sharing.models import AccessLevel
from sharing.services.agreements import agreement_raise
from tests.factories import TrustFactory
from tests.institutions.factories import add_school, group_admin, group_staff

from .factories import make_request, school_with_head

URL = "/data-sharing/"
HTMX = {"HTTP_HX_REQUEST": "true"}
L1, L2, L3 = (
    AccessLevel.DFE_DATA,
    AccessLevel.DFE_AND_MIS_DATA,
    AccessLevel.DFE_MIS_AND_GROUP_ACTIONS,
)


@pytest.fixture
def schools(trust):
    """Secondary: Beech (pending), Damson, Elder and Fig (no agreement), Gorse (approved).
    Primary: Acorn (no agreement), Cedar (approved at 1), Hazel (approved at 2)."""
    made = {
        name: school_with_head(trust, name=f"{name} School", urn=urn, phase=phase)
        for name, urn, phase in (
            ("Acorn", "100001", "Primary"),
            ("Beech", "100002", "Secondary"),
            ("Cedar", "100003", "Primary"),
            ("Damson", "100004", "Secondary"),
            ("Elder", "100005", "Secondary"),
            ("Fig", "100006", "Secondary"),
            ("Gorse", "100007", "Secondary"),
            ("Hazel", "100008", "Primary"),
        )
    }
    make_request(trust, made["Beech"])
    agreement_raise(group=trust, school=made["Cedar"], level=L1, actor=system_actor())
    agreement_raise(group=trust, school=made["Gorse"], level=L1, actor=system_actor())
    agreement_raise(group=trust, school=made["Hazel"], level=L2, actor=system_actor())
    return made


def facet_counts(html: str, name: str) -> dict[str, int]:
    """The options of filter ``name`` offered on the page, with their counts."""
    fieldset = re.search(
        rf'<fieldset class="mm-filter" id="filter-{name}">(.*?)</fieldset>', html, re.S
    )
    if fieldset is None:
        return {}
    return {
        label: int(count)
        for label, count in re.findall(
            r'<span class="mm-chip__label">([^<]+)</span>\s*<span class="mm-chip__count">(\d+)',
            fieldset.group(1),
        )
    }


def tab_count(html: str, label: str) -> int:
    return int(re.search(rf'{label} <span class="mm-tab-count">\((\d+)\)</span>', html).group(1))


def row_boxes(html: str) -> list[str]:
    return re.findall(r'<input class="mm-table__select"[^>]*>', html)


@pytest.mark.django_db
class TestFilterCountsAreTheTabs:
    @pytest.mark.parametrize(
        "tab, label, expected",
        [
            ("none", "No Agreement", {"Primary": 1, "Secondary": 3}),
            ("pending", "Pending", {"Secondary": 1}),
            ("approved", "Approved", {"Primary": 2, "Secondary": 1}),
        ],
    )
    def test_phase_counts_add_up_to_the_tab(
        self, site_client, trust, schools, tab, label, expected
    ):
        html = site_client(trust, group_admin(trust)).get(URL, {"tab": tab}).content.decode()
        counts = facet_counts(html, "phase")
        assert counts == expected  # an empty phase on this tab is not offered
        assert sum(counts.values()) == tab_count(html, label)

    def test_with_a_filter_the_ticked_option_counts_the_tabs_rows(
        self, site_client, trust, schools
    ):
        client = site_client(trust, group_admin(trust))
        html = client.get(URL, {"tab": "none", "phase": "Secondary"}).content.decode()
        assert facet_counts(html, "phase")["Secondary"] == tab_count(html, "No Agreement") == 3
        assert len(row_boxes(html)) == 3

    def test_the_htmx_fragment_counts_the_tab_too(self, site_client, trust, schools):
        response = site_client(trust, group_admin(trust)).get(URL, {"tab": "pending"}, **HTMX)
        assert facet_counts(response.content.decode(), "phase") == {"Secondary": 1}

    def test_a_pinned_number_of_queries_whatever_the_groups_size(self, site_client):
        measured = {}
        for size in (4, 24):
            group = TrustFactory()
            for n in range(size):
                school = add_school(group, phase=("Primary", "Secondary")[n % 2])
                if n % 4 == 1:
                    make_request(group, school)
                elif n % 4 == 2:
                    agreement_raise(group=group, school=school, level=L1, actor=system_actor())
            client = site_client(group, group_admin(group))
            for tab in ("none", "pending", "approved"):
                client.get(URL, {"tab": tab})  # sessions and caches warmed
                with CaptureQueriesContext(connection) as queries:
                    assert client.get(URL, {"tab": tab, "phase": "Primary"}).status_code == 200
                measured[size, tab] = len(queries)
        assert measured[4, "none"] == measured[24, "none"] == 18, measured
        assert measured[4, "pending"] == measured[24, "pending"], measured
        assert measured[4, "approved"] == measured[24, "approved"], measured


@pytest.mark.django_db
class TestSelectAllMatching:
    def test_the_page_after_select_all_has_every_row_ticked(self, site_client, trust, schools):
        client = site_client(trust, group_admin(trust))
        before = client.get(URL, {"phase": "Secondary"}).content.decode()
        link = re.search(r'id="select-all-matching" href="([^"]+)"', before).group(1)
        assert link == "?phase=Secondary&amp;tab=none&amp;all=1"
        assert "Select all 3 matching schools" in before
        assert not any("checked" in box for box in row_boxes(before))

        after = client.get(URL, {"phase": "Secondary", "tab": "none", "all": "1"}).content.decode()
        boxes = row_boxes(after)
        assert len(boxes) == 3 and all("checked" in box for box in boxes), boxes
        assert "All 3 matching schools are selected" in after
        # The selection form sends every matching school, not the rows of this page.
        form = re.search(r'<form id="agreements-selection".*?</form>', after, re.S).group(0)
        assert '<input type="hidden" name="all" value="1">' in form
        assert '<input type="hidden" name="phase" value="Secondary">' in form
        assert re.search(r'id="clear-selection" href="\?phase=Secondary&amp;tab=none"', after)

    def test_htmx_swaps_in_the_ticked_rows_and_keeps_the_address(self, site_client, trust, schools):
        response = site_client(trust, group_admin(trust)).get(
            URL, {"tab": "approved", "all": "1"}, **HTMX
        )
        boxes = row_boxes(response.content.decode())
        assert len(boxes) == 3 and all("checked" in box for box in boxes)
        assert response["HX-Push-Url"] == "/data-sharing/?tab=approved&all=1"

    def test_a_tab_link_starts_a_new_selection(self, site_client, trust, schools):
        html = site_client(trust, group_admin(trust)).get(URL, {"all": "1"}).content.decode()
        assert 'id="tab-pending" href="?tab=pending"' in html

    def test_staff_who_cannot_act_get_no_selection(self, site_client, trust, schools):
        html = site_client(trust, group_staff(trust)).get(URL, {"all": "1"}).content.decode()
        assert row_boxes(html) == []
        assert "are selected" not in html

    def test_the_send_panel_names_every_chosen_school(self, site_client, trust, schools):
        client = site_client(trust, group_admin(trust))
        panel = client.get(
            URL + "send/", {"tab": "none", "phase": "Secondary", "all": "1"}, **HTMX
        ).content.decode()
        chosen = re.search(r'id="send-chosen".*?</ul>', panel, re.S).group(0)
        assert re.findall(r"<li>([^<]+)</li>", chosen) == [
            "Damson School",
            "Elder School",
            "Fig School",
        ]

    def test_ticked_schools_are_named_too_without_javascript(self, site_client, trust, schools):
        response = site_client(trust, group_admin(trust)).get(
            URL + "send/", {"tab": "none", "school": ["100004", "100001"]}
        )
        assert response.status_code == 200
        chosen = re.search(r'id="send-chosen".*?</ul>', response.content.decode(), re.S).group(0)
        assert re.findall(r"<li>([^<]+)</li>", chosen) == ["Acorn School", "Damson School"]

    def test_a_long_selection_is_named_behind_a_disclosure(self, site_client, trust, schools):
        for n in range(10):
            school_with_head(trust, name=f"Willow {n:02d}", urn=f"1001{n:02d}", phase="Primary")
        panel = (
            site_client(trust, group_admin(trust))
            .get(URL + "send/", {"tab": "none", "all": "1"}, **HTMX)
            .content.decode()
        )
        assert "The 14 chosen schools" in panel
        chosen = re.search(r'id="send-chosen".*?</details>', panel, re.S).group(0)
        assert len(re.findall(r"<li>", chosen)) == 14


def level_radios(html: str) -> list[str]:
    return re.findall(r'<input class="govuk-radios__input"[^>]*name="level"[^>]*>', html)


@pytest.mark.django_db
class TestOnlyPossibleLevelIsChosen:
    def test_raising_level_2_schools_offers_level_3_chosen(self, site_client, trust, schools):
        client = site_client(trust, group_admin(trust))
        panel = client.get(URL + "send/", {"tab": "approved", "school": "100008"}, **HTMX)
        radios = level_radios(panel.content.decode())
        assert len(radios) == 1 and 'value="3"' in radios[0] and "checked" in radios[0]

    def test_it_stays_chosen_in_the_preview_and_when_roles_come_in_the_address(
        self, site_client, trust, schools
    ):
        client = site_client(trust, group_admin(trust))
        query = {"tab": "approved", "school": "100008", "roles": "Head Teacher"}
        radios = level_radios(client.get(URL + "send/", query).content.decode())
        assert len(radios) == 1 and "checked" in radios[0]
        preview = client.get(URL + "send/preview/", query).content.decode()
        assert "Choose the access level to see" not in preview
        assert "Will be sent to <strong>1 school</strong>" in preview

    def test_several_possible_levels_are_not_chosen_for_the_person(
        self, site_client, trust, schools
    ):
        client = site_client(trust, group_admin(trust))
        panel = client.get(URL + "send/", {"tab": "approved", "school": "100003"}, **HTMX)
        radios = level_radios(panel.content.decode())
        assert len(radios) == 2 and not any("checked" in radio for radio in radios)
