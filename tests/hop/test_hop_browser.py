"""Log in to MIS in a real browser (headless Chromium): the group's form reaches the
school with the Origin the school's host expects, and a page elsewhere that posts a token
to the school's /hop/ from a head teacher's browser is refused (issue 12, item 5)."""

import re

import pytest
from django.conf import settings
from django.utils import timezone

from accounts.models import AssociatedSchool, HopToken, StaffAssociation
from sharing.models import AccessLevel, Agreement
from tests.e2e.test_sharing_journey import (  # noqa: F401 - fixtures
    ARTIFACTS,
    TIMEOUT_MS,
    browser,
    check_page,
    journey,
)
from tests.hop.factories import verified_client
from tests.security.world import World as ProbeWorld

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def signed_in_context(browser, world, user, site):  # noqa: F811 - the fixture's name
    """A browser context signed in as ``user`` at ``site``'s host, past two-factor."""
    key = ProbeWorld().session(user, site)
    context = browser.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    url = world["host"](site)
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": key, "url": url}])
    return context


@pytest.fixture
def hop_ready(journey):  # noqa: F811
    trust, school = journey["trust"], journey["schools"][0]
    Agreement.objects.create(
        group=trust,
        school=school,
        level=AccessLevel.DFE_MIS_AND_GROUP_ACTIONS,
        approved_at=timezone.now(),
    )
    profile = journey["admin"].staff_profiles.get(site=trust)
    association = StaffAssociation.objects.create(site=trust, profile=profile)
    AssociatedSchool.objects.create(site=trust, association=association, school=school)
    return journey


def test_the_groups_form_opens_the_school(hop_ready, browser):  # noqa: F811
    from playwright.sync_api import expect

    world = hop_ready
    trust, school = world["trust"], world["schools"][0]
    page = signed_in_context(browser, world, world["admin"], trust).new_page()
    page.goto(f"{world['host'](trust)}/log-in-to-mis/")
    page.select_option("#id_school", school.urn)
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(page).to_have_url(re.compile(rf"^{re.escape(world['host'](school))}/"))
    expect(page.get_by_text("Signed in from Oak Ridge Trust")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "hop-banner.png"))
    # Back: the school session ends, and the group's site says so.
    page.get_by_role("button", name="Return to Oak Ridge Trust").click()
    expect(page).to_have_url(f"{world['host'](trust)}/log-in-to-mis/")
    expect(page.get_by_text(f"Your session at {school.name} has ended.")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "hop-returned.png"), full_page=True)
    page.goto(f"{world['host'](school)}/")
    expect(page).to_have_url(re.compile(r"/accounts/sign-in/"))  # signed out there


def test_the_log_in_to_mis_place_says_why_not(hop_ready, browser):  # noqa: F811
    """A school without the agreement's third level: the page and the institution page say
    why and link to raising it; keyboard-reachable, and axe finds nothing serious."""
    from playwright.sync_api import expect

    world = hop_ready
    trust, low = world["trust"], world["schools"][1]
    profile = world["admin"].staff_profiles.get(site=trust)
    StaffAssociation.objects.get(profile=profile).school_links.create(site=trust, school=low)
    page = signed_in_context(browser, world, world["admin"], trust).new_page()
    page.goto(f"{world['host'](trust)}/log-in-to-mis/")
    expect(page.get_by_role("heading", name="Schools you cannot log in to yet")).to_be_visible()
    link = page.get_by_role("link", name=f"Raise the agreement with {low.name}")
    expect(link).to_be_visible()
    link.focus()
    expect(link).to_be_focused()
    check_page(page, "hop-place-why-not")
    page.goto(f"{world['host'](trust)}/institutions/{low.urn}/")
    expect(page.get_by_role("heading", name="Log in to MIS")).to_be_visible()
    expect(page.get_by_role("button", name="Log in to MIS")).to_have_count(0)
    check_page(page, "hop-place-why-not-institution")
    link = page.get_by_role("link", name=f"Raise the agreement with {low.name}")
    link.click()
    expect(page).to_have_url(re.compile(r"/data-sharing/\?tab=none&q="))
    expect(page.get_by_text(low.name).first).to_be_visible()


def test_a_page_elsewhere_cannot_sign_the_heads_browser_in(hop_ready, browser):  # noqa: F811
    from playwright.sync_api import expect

    world = hop_ready
    trust, school = world["trust"], world["schools"][0]
    # The attacker's own fresh token, asked for on the group's site.
    group_client = verified_client(trust, world["admin"])
    token = group_client.post("/log-in-to-mis/", {"school": school.urn}).context["token"]

    head = world["heads"][0]
    head_page = signed_in_context(browser, world, head, school).new_page()
    head_page.set_content(
        f'<form method="post" action="{world["host"](school)}/hop/">'
        f'<input name="token" value="{token}"><button>Win a prize</button></form>'
    )
    head_page.get_by_role("button", name="Win a prize").click()
    expect(head_page.get_by_text("did not come from your group's site")).to_be_visible()
    head_page.goto(f"{world['host'](school)}/")
    expect(head_page).to_have_url(f"{world['host'](school)}/")  # still signed in here...
    expect(head_page.get_by_text("Signed in from")).to_have_count(0)  # ...as the head
    assert HopToken.objects.get().used_at is None  # refused before anything was asked
