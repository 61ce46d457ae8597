"""The data sharing journey in a real browser (headless Chromium through Playwright).

A trust administrator signs in on the trust's host, opens Data Sharing Agreements, ticks
three schools and sends them requests for “DfE Data & MIS Data” to their Head Teachers.
A head teacher reads the email on the development mail page, follows its link to the
school's host, signs in, and approves after the confirmation step. The trust administrator
then finds the school under Approved at that level.

Screenshots go to test-artifacts/e2e/; every page is checked at a desktop width and at a
375 px phone width with axe (no serious or critical violation, no breach of a WCAG 2.2 A
or AA rule) and for sideways scrolling of the whole page on the phone. Sites are
``<slug>.localhost:<port>``: Chromium resolves ``*.localhost`` to loopback.
"""

import os
import re
from pathlib import Path

import pytest
from django.conf import settings

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts" / "e2e"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 15_000
LEVEL = "DfE Data & MIS Data"


@pytest.fixture
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    pytest.importorskip("axe_playwright_python")
    if not CHROMIUM.exists():
        pytest.skip("No Chromium at /usr/bin/chromium (scripts/test installs it when it can).")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def journey(settings, live_server, tmp_path, monkeypatch):
    """The trust with three schools and their heads; mail written to files (as in
    development) so the head can read it on the mail page; absolute links carry the live
    server's port."""
    # Playwright's sync API runs an event loop in this thread; the ORM calls made here
    # before and after it are ordinary synchronous calls.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    port = live_server.url.rsplit(":", 1)[1]
    settings.SITE_PORT = port
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "OPTIONS": {"file_path": str(tmp_path / "mail")},
        }
    }
    from accounts.models import StaffProfile
    from accounts.staff.services import role_assign, roles_ensure_defaults
    from tests.factories import TrustFactory, UserFactory
    from tests.institutions.factories import add_school
    from tests.notifications.factories import school_staff

    trust = TrustFactory(name="Oak Ridge Trust", slug="oak-ridge")
    admin = UserFactory(email="priya@oak-ridge.test", full_name="Priya Shah")
    profile = StaffProfile.objects.create(site=trust, user=admin, job_title="Trust Administrator")
    role_assign(profile=profile, role=roles_ensure_defaults(site=trust)["Trust Administrator"])
    schools = [
        add_school(trust, name=name, slug=slug)
        for name, slug in (
            ("St Mary’s Primary", "st-marys"),
            ("Elm Grove Academy", "elm-grove"),
            ("Ash Lane Infants", "ash-lane"),
        )
    ]
    heads = [
        school_staff(school, "Head Teacher", email=f"head@{school.slug}.test") for school in schools
    ]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return {
        "port": port,
        "trust": trust,
        "admin": admin,
        "schools": schools,
        "heads": heads,
        "base": f"http://localhost:{port}",
        "host": lambda site: f"http://{site.slug}.localhost:{port}",
    }


DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 812}
# The WCAG 2.0, 2.1 and 2.2 level A and AA rules axe checks; asking for them by tag also
# turns on those axe leaves off by default, such as target-size (2.5.8).
WCAG_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa")
AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": [*WCAG_TAGS, "best-practice"]},
    "resultTypes": ["violations"],
}


def axe_problems(page) -> list[str]:
    """axe's findings that fail a page: any serious or critical one, and any breach of a
    WCAG A or AA rule whatever its impact (best practices of lower impact are left)."""
    from axe_playwright_python.sync_playwright import Axe

    return [
        f"{v['id']} ({v['impact']}): {v['help']} — "
        + "; ".join(str(node["target"][0]) for node in v["nodes"][:3])
        for v in Axe().run(page, options=AXE_OPTIONS).response["violations"]
        if v["impact"] in ("serious", "critical") or set(v["tags"]) & set(WCAG_TAGS)
    ]


def check_page(page, name: str) -> None:
    """At a desktop width and at a 375 px phone's: a screenshot (``name``.png and
    ``name``-375.png), axe (``axe_problems``), and on the phone no sideways scroll of the
    whole page (a wide table scrolls inside its own box)."""
    problems = []
    viewport = page.viewport_size or DESKTOP
    for size, suffix in ((DESKTOP, ""), (PHONE, "-375")):
        page.set_viewport_size(size)
        page.screenshot(path=str(ARTIFACTS / f"{name}{suffix}.png"), full_page=True)
        problems += [f"{size['width']} px: {problem}" for problem in axe_problems(page)]
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        if overflow > 0:
            problems.append(f"{size['width']} px: the page scrolls sideways by {overflow} px")
    page.set_viewport_size(viewport)
    assert problems == [], f"{name}: {problems}"


def sign_in(page, email: str) -> None:
    from tests.factories import TEST_PASSWORD

    page.fill("input[name=username]", email)
    page.fill("input[name=password]", TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def test_a_trust_asks_three_schools_and_a_head_approves(journey, browser):
    from playwright.sync_api import expect

    trust_url = journey["host"](journey["trust"])
    st_marys, *_ = journey["schools"]

    # --- The trust administrator sends three requests ---------------------------------------
    admin_context = browser.new_context()
    admin_context.set_default_timeout(TIMEOUT_MS)
    admin = admin_context.new_page()
    requested: list[str] = []  # every address the browser asks for
    admin.on("request", lambda request: requested.append(request.url))
    admin.goto(f"{trust_url}/data-sharing/")
    expect(admin).to_have_url(re.compile(r"/accounts/sign-in/\?next=/data-sharing/"))
    sign_in(admin, "priya@oak-ridge.test")
    expect(admin.get_by_role("heading", name="Data Sharing Agreements")).to_be_visible()
    check_page(admin, "01-trust-no-agreement")

    for school in journey["schools"]:
        admin.check(f"#select-{school.urn}")
    admin.click("#bulk-send")
    panel = admin.locator("#bulk-panel")
    expect(panel.get_by_text(LEVEL, exact=True)).to_be_visible()
    panel.get_by_label(LEVEL, exact=True).check()
    head_teacher = panel.get_by_label("Head Teacher", exact=True)
    if not head_teacher.is_checked():
        head_teacher.check()
    expect(panel.get_by_text("Will be sent to")).to_contain_text("3 schools")
    # The preview followed the choices, and no address carried the form's CSRF token
    # (it would end up in logs and Referer headers).
    assert any("/data-sharing/send/preview/?" in url for url in requested), requested
    assert not [url for url in requested if "csrfmiddlewaretoken" in url]
    check_page(admin, "02-trust-send-panel")
    panel.get_by_role("button", name="Send requests").click()
    expect(admin.get_by_text("Requests sent to 3 schools")).to_be_visible()
    check_page(admin, "03-trust-sent")

    # --- The head teacher reads the email and follows its link ------------------------------
    head_context = browser.new_context()
    head_context.set_default_timeout(TIMEOUT_MS)
    head = head_context.new_page()
    head.goto(f"{journey['base']}/mail/")
    message = head.get_by_role("row").filter(has_text="head@st-marys.test")
    expect(message).to_have_count(1)
    expect(message).to_contain_text("Oak Ridge Trust asks to share data with St Mary’s Primary")
    check_page(head, "04-mail-list")
    message.get_by_role("link").click()
    link = head.get_by_test_id("mail-text").get_by_role("link")
    expect(link).to_have_text(
        re.compile(
            rf"^http://st-marys\.localhost:{journey['port']}/data/data-sharing/requests/\d+/$"
        )
    )
    check_page(head, "05-mail-message")
    link.click()

    expect(head).to_have_url(re.compile(r"st-marys\.localhost:\d+/accounts/sign-in/\?next="))
    sign_in(head, "head@st-marys.test")
    expect(head).to_have_url(re.compile(r"/data/data-sharing/requests/\d+/$"))
    expect(head.get_by_role("heading", level=1)).to_have_text(
        f"Oak Ridge Trust asks to see “{LEVEL}”"
    )
    check_page(head, "06-school-request")

    head.get_by_role("link", name="Approve").click()
    expect(head.get_by_role("heading", level=1)).to_have_text(
        f"Approve “{LEVEL}” for Oak Ridge Trust?"
    )
    check_page(head, "07-school-confirm")
    head.get_by_role("button", name=f"Approve “{LEVEL}”").click()
    expect(head.get_by_text("Approved. Oak Ridge Trust can now see")).to_be_visible()
    check_page(head, "08-school-approved")

    # --- The trust administrator sees the school under Approved -----------------------------
    admin.goto(f"{trust_url}/data-sharing/?tab=approved")
    row = admin.get_by_role("row").filter(has_text="St Mary’s Primary")
    expect(row).to_contain_text(LEVEL)
    expect(admin.locator("#tab-approved")).to_contain_text("(1)")
    expect(admin.locator("#tab-pending")).to_contain_text("(2)")
    check_page(admin, "09-trust-approved")
    admin_context.close()
    head_context.close()

    from django.db import connections

    from sharing.models import Agreement

    try:
        agreement = Agreement.objects.get(group=journey["trust"], school=st_marys)
        assert agreement.level == 2
    finally:
        # Inside Playwright's event loop the ORM has a connection of its own: close it, or
        # it keeps the test database from being dropped.
        connections.close_all()
    assert {"01-trust-no-agreement.png", "01-trust-no-agreement-375.png"} <= set(
        os.listdir(ARTIFACTS)
    )
