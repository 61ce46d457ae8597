"""The first pages a person sees, in a real browser at desktop width and at a 375 px phone
width: the bare domain's site list (searched with the keyboard) and sign-in's code step
(labelled for both kinds of code; a used backup code told apart). Each page is checked with
axe (no serious or critical violation) and kept as a screenshot in test-artifacts/e2e/."""

import pytest

from tests.e2e.test_sharing_journey import ARTIFACTS, TIMEOUT_MS, check_page, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

WIDTHS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 375, "height": 812}}


def _demo_like_sites(journey):
    """The demo's own sites (with staff accounts) among 90 others."""
    from bench.register import DEMO_HEAD_SCHOOL, DEMO_LA_CODE, DEMO_TRUST_CODE
    from tests.factories import (
        InstitutionFactory,
        LocalAuthorityFactory,
        StaffProfileFactory,
        TrustFactory,
    )

    trust = journey["trust"]
    trust.group_code = DEMO_TRUST_CODE
    trust.save(update_fields=["group_code"])
    la = LocalAuthorityFactory(name="Northshire", slug="northshire", group_code=DEMO_LA_CODE)
    school = InstitutionFactory(
        name=DEMO_HEAD_SCHOOL, slug="oak-ridge-primary-school", trust_code=DEMO_TRUST_CODE
    )
    for site in (la, school):
        StaffProfileFactory(site=site)
    TrustFactory.create_batch(5)
    InstitutionFactory.create_batch(85)


@pytest.mark.parametrize("width", WIDTHS)
def test_the_site_list(journey, browser, width):
    from playwright.sync_api import expect

    _demo_like_sites(journey)
    context = browser.new_context(viewport=WIDTHS[width])
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.goto(f"{journey['base']}/")

    expect(page.get_by_role("heading", level=1)).to_have_text("Choose a site")
    demo = page.get_by_role("region", name="Demo sites")
    expect(demo.get_by_role("link")).to_have_text(
        ["Oak Ridge Trust", "Northshire", "Oak Ridge Primary School"]
    )
    expect(page.get_by_role("heading", level=2)).to_have_text(
        ["Demo sites", "Trusts", "Local authorities", "Schools"]
    )
    expect(page.get_by_role("navigation", name="Pages of sites")).to_be_visible()
    check_page(page, f"first-01-site-list-{width}")
    page.screenshot(path=str(ARTIFACTS / f"first-01-site-list-{width}-first-screen.png"))

    # The keyboard alone: Tab to the search box, type, Enter.
    search = page.get_by_role("searchbox", name="Search sites")
    search.focus()
    page.keyboard.type("oak ridge")
    page.keyboard.press("Enter")
    page.wait_for_url("**/?q=oak+ridge")
    expect(page.get_by_role("status")).to_contain_text("2 sites matching “oak ridge”")
    expect(page.get_by_role("heading", level=2)).to_have_text(["Trusts", "Schools"])
    check_page(page, f"first-02-site-list-search-{width}")

    page.get_by_role("link", name="Schools").first.click()
    expect(page.get_by_role("link", name="Schools").first).to_have_attribute("aria-current", "page")
    context.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_the_code_step_of_signing_in(journey, browser, width):
    from playwright.sync_api import expect

    from tests.accounts.test_two_factor import give_two_factor

    admin = journey["admin"]
    _, codes = give_two_factor(admin)
    used = f"{codes[0][:4]}-{codes[0][4:]}"
    trust_url = journey["host"](journey["trust"])

    # The backup code is used once, in another browser.
    first = browser.new_context()
    first.set_default_timeout(TIMEOUT_MS)
    earlier = first.new_page()
    earlier.goto(f"{trust_url}/accounts/sign-in/")
    sign_in(earlier, admin.email)
    earlier.get_by_label("Code from your authenticator app, or a backup code").fill(used)
    earlier.get_by_role("button", name="Continue").click()
    expect(earlier.get_by_role("link", name="Your account")).to_be_visible()
    earlier.get_by_role("link", name="Your account").click()
    expect(earlier.get_by_role("heading", level=1)).to_have_text("Two-factor sign-in")
    check_page(earlier, f"first-03-your-account-{width}")
    first.close()

    context = browser.new_context(viewport=WIDTHS[width])
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.goto(f"{trust_url}/accounts/sign-in/")
    sign_in(page, admin.email)
    expect(page.get_by_role("heading", level=1)).to_have_text("Enter your code")
    header = page.locator("header")
    expect(header).to_contain_text("Signing in")
    expect(header.get_by_role("link", name="Sign in")).to_have_count(0)
    field = page.get_by_label("Code from your authenticator app, or a backup code")
    expect(field).to_be_focused()
    check_page(page, f"first-04-code-step-{width}")

    page.keyboard.type(used)
    page.keyboard.press("Enter")
    expect(page.get_by_role("alert")).to_contain_text("That backup code has already been used")
    check_page(page, f"first-05-code-step-used-backup-code-{width}")
    context.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_log_in_to_mis_with_no_school_chosen_says_so_on_its_own_page(journey, browser, width):
    from django.utils import timezone
    from playwright.sync_api import expect

    from accounts.models import StaffAssociation
    from sharing.models import AccessLevel, Agreement
    from tests.accounts.test_two_factor import give_two_factor

    trust, admin, school = journey["trust"], journey["admin"], journey["schools"][0]
    school.urn = "100001"
    school.save(update_fields=["urn"])
    Agreement.objects.create(
        group=trust,
        school=school,
        level=AccessLevel.DFE_MIS_AND_GROUP_ACTIONS,
        approved_at=timezone.now(),
    )
    StaffAssociation.objects.create(
        site=trust, profile=admin.staff_profiles.get(), all_schools=True
    )
    _, codes = give_two_factor(admin)

    context = browser.new_context(viewport=WIDTHS[width])
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    trust_url = journey["host"](trust)
    page.goto(f"{trust_url}/accounts/sign-in/")
    sign_in(page, admin.email)
    page.get_by_label("Code from your authenticator app, or a backup code").fill(codes[0])
    page.get_by_role("button", name="Continue").click()
    page.goto(f"{trust_url}/log-in-to-mis/")
    expect(page.get_by_label("School", exact=True)).to_be_visible()
    page.get_by_role("button", name="Log in", exact=True).click()  # no school chosen

    expect(page.get_by_role("heading", level=1)).to_have_text("Log in to MIS")
    expect(page.get_by_role("alert")).to_contain_text("Choose the school whose MIS to open")
    expect(page.get_by_text("This field is required.")).to_have_count(0)
    check_page(page, f"first-06-log-in-to-mis-no-school-{width}")
    context.close()
