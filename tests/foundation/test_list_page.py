"""Every paginated list reads its page number one way (matmis.listing.list_page): a page
past the end shows the last page and says so; anything else unreadable is the first page."""

import pytest

from accounts.permissions import USER_DETAILS, Access
from tests.conftest import SiteClient
from tests.factories import StaffProfileFactory, UserFactory, grant_permission
from tests.institutions.factories import add_school, group_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(trust):
    user = UserFactory(full_name="Ada Admin", email="ada@oak.test")
    grant_permission(user, trust, USER_DETAILS, Access.ADMINISTER)
    return user


def _messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_a_page_past_the_end_of_the_staff_list_shows_the_last_with_a_message(trust, admin):
    for _ in range(60):  # two pages of 50
        StaffProfileFactory(site=trust)
    client = SiteClient(trust)
    client.force_login(admin)
    response = client.get("/staff/?page=9")
    assert response.status_code == 200
    assert response.context["page"].number == 2
    assert _messages(response) == ["There are only 2 pages; showing the last."]
    assert "There are only 2 pages; showing the last." in response.content.decode()


def test_a_page_past_the_end_of_a_one_page_list_says_there_is_only_one(trust, admin):
    client = SiteClient(trust)
    client.force_login(admin)
    response = client.get("/audit/?page=4")
    assert response.context["page"].number == 1
    assert _messages(response) == ["There is only 1 page; showing it."]


@pytest.mark.parametrize("asked", ["", "1", "abc", "0", "²", "-3"])
def test_a_page_within_the_list_or_unreadable_says_nothing(trust, admin, asked):
    for _ in range(60):
        StaffProfileFactory(site=trust)
    client = SiteClient(trust)
    client.force_login(admin)
    response = client.get(f"/staff/?page={asked}")
    assert response.context["page"].number == 1
    assert _messages(response) == []


def test_browse_past_the_end_goes_to_the_last_page_and_an_htmx_swap_stays_quiet(trust):
    for number in range(3):
        add_school(trust, name=f"School {number}", urn=f"10000{number}")
    client = SiteClient(trust)
    client.force_login(group_staff(trust))
    response = client.get("/institutions/?page=7")
    assert response.context["page"].number == 1
    assert "There is only 1 page; showing it." in response.content.decode()
    swapped = client.get("/institutions/?page=7", headers={"HX-Request": "true"})
    assert swapped.status_code == 200
    assert _messages(swapped) == []
    # Nothing was kept for the next page either.
    assert _messages(client.get("/institutions/")) == []
