"""Every page the journeys can reach, checked in a real browser at a desktop width and at a
375 px phone width (``check_page``: axe with the WCAG 2.2 A and AA rules, target size
included, failing on any serious or critical finding; no sideways scroll of the whole page
on the phone), for the trust's administrator, a school's head teacher and someone not
signed in on each kind of host.

The pages are found by following the links of each page from the home page, on the same
host: whatever the menus, tabs and tables link to is checked, and a new page is checked as
soon as something links to it. Screenshots go to test-artifacts/e2e/sweep-*.png; those
of Analytics, Browse and the agreement tabs at 375 px are the ones to look at.
"""

import re
from urllib.parse import parse_qs, urlsplit, urlunsplit

import pytest

from tests.e2e.test_mis_pages import _records
from tests.e2e.test_sharing_journey import ARTIFACTS, PHONE, TIMEOUT_MS, check_page, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Not followed: leaving the session, files, the API and its third-party documentation
# page, the development mail pages (checked by the journey) and the platform's support
# admin (Django's own pages).
NOT_FOLLOWED = re.compile(
    r"/accounts/sign-out/|\.csv$|/api/|/mail/|/support/|/hop/|/accounts/password-reset/"
)
# The query-string keys that make another page rather than another view of one (the tabs);
# sorting, paging, filtering and selecting are views of a page already checked.
PAGE_KEYS = ("tab",)
MOST_PAGES = 60


def page_key(url: str) -> str:
    """One page of each kind: ``/institutions/100001/`` and ``/institutions/100002/`` are
    the same page about another school."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    kept = "&".join(f"{key}={query[key][0]}" for key in PAGE_KEYS if key in query)
    path = re.sub(r"/\d+(?=/)", "/N", parts.path)
    return f"{parts.netloc}{path}?{kept}"


def shot_name(prefix: str, url: str) -> str:
    parts = urlsplit(url)
    slug = re.sub(r"[^a-z0-9]+", "-", f"{parts.path} {parts.query}".lower()).strip("-")
    return f"sweep-{prefix}-{slug or 'home'}"


def sweep(page, start: str, prefix: str, *, forms: tuple[str, ...] = ()) -> list[str]:
    """Check ``start`` and every page reachable from it by links on its host, and the
    pages reached by ``forms`` (addresses a form's button opens, as without JavaScript)."""
    host = urlsplit(start).netloc
    queue, seen, checked, failures = [start, *forms], set(), [], []
    while queue and len(checked) < MOST_PAGES:
        url = queue.pop(0)
        if page_key(url) in seen:
            continue
        seen.add(page_key(url))
        response = page.goto(url)
        page.wait_for_load_state()
        if response is None or response.status >= 500:
            failures.append(f"{url}: {response.status if response else 'no response'}")
            continue
        checked.append(url)
        try:
            check_page(page, shot_name(prefix, url))
        except AssertionError as problem:
            failures.append(str(problem))
        links = page.eval_on_selector_all(
            "a[href]:not([download])", "links => links.map(link => link.href)"
        )
        for link in links:
            parts = urlsplit(link)
            if parts.scheme not in ("http", "https") or parts.netloc != host:
                continue
            if NOT_FOLLOWED.search(parts.path):
                continue
            queue.append(urlunsplit(parts._replace(fragment="")))
    assert failures == [], "\n".join(failures)
    return checked


@pytest.fixture
def world(journey):
    """The journey's trust and schools, with figures, pupils, a pending request, clusters
    and enough schools that the tables are long and wide."""
    from accounts.models import StaffProfile
    from analytics.models import PublishedFigures
    from institutions.models import Cluster, ClusterMembership
    from sharing.models import AgreementRequest, RequestStatus
    from tests.institutions.factories import add_school
    from tests.notifications.factories import school_staff

    st_marys, pupils = _records(journey)
    trust = journey["trust"]
    extra = [
        add_school(
            trust,
            name=f"{name} Church of England Voluntary Aided Primary School",
            phase=("Primary", "Secondary", "Nursery")[n % 3],
        )
        for n, name in enumerate(
            ("Birchfield", "Cedarwood", "Damson Hill", "Foxglove", "Hawthorn", "Larkspur") * 4
        )
    ]
    ash_lane = journey["schools"][2]
    school_staff(ash_lane, "Deputy Head Teacher", email="deputy@ash-lane.test")
    sender = StaffProfile.objects.get(site=trust, user=journey["admin"])
    AgreementRequest.objects.create(
        group=trust, school=ash_lane, level=2, sender=sender, status=RequestStatus.PENDING
    )
    north = Cluster.objects.create(group=trust, name="North")
    south = Cluster.objects.create(group=trust, name="South")
    for n, school in enumerate([st_marys, *extra]):
        ClusterMembership.objects.create(group=trust, cluster=(north, south)[n % 2], school=school)
    PublishedFigures.objects.create(school=None, time_period="202425", overall_absence_rate="6.9")
    _ended_agreements(trust, st_marys)
    return {"st_marys": st_marys, "pupils": pupils}


def _ended_agreements(trust, st_marys):
    """History on both sides: a school that left the trust (Ended agreements), and a trust
    St Mary's left (its Past agreements)."""
    from accounts.audit import system_actor
    from institutions.models import GroupMembership
    from institutions.services import membership_end
    from sharing.services.agreements import agreement_raise
    from tests.factories import TrustFactory
    from tests.institutions.factories import add_school

    gone = add_school(trust, name="Willow Bank Primary School")
    old_trust = TrustFactory(name="Old Mill Trust", slug="old-mill")
    GroupMembership.objects.create(group=old_trust, school=st_marys)
    for group, school in ((trust, gone), (old_trust, st_marys)):
        agreement_raise(group=group, school=school, level=2, actor=system_actor())
        membership_end(
            memberships=GroupMembership.objects.filter(group=group, school=school),
            actor=system_actor(),
        )


def test_every_page_a_trust_administrator_reaches(journey, world, browser):
    context = browser.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    trust_url = journey["host"](journey["trust"])
    page.goto(f"{trust_url}/")
    sign_in(page, "priya@oak-ridge.test")
    # The bulk actions' pages, opened by the selection form's buttons.
    actions = (
        "/data-sharing/send/?tab=none&all=1",
        "/data-sharing/send/?tab=approved&all=1",
        "/data-sharing/remind/?tab=pending&all=1",
        "/data-sharing/withdraw/?tab=pending&all=1",
    )
    checked = sweep(
        page, f"{trust_url}/", "trust", forms=tuple(trust_url + path for path in actions)
    )
    paths = {urlsplit(url).path for url in checked}
    for expected in (
        "/",
        "/analytics/",
        "/institutions/",
        "/data-sharing/",
        "/data-sharing/send/",
        "/data-sharing/remind/",
        "/privacy/",
    ):
        assert expected in paths, sorted(paths)
    tabs = {parse_qs(urlsplit(url).query).get("tab", ["none"])[0] for url in checked}
    assert {"none", "pending", "approved"} <= tabs, tabs  # the three agreement tabs
    context.close()


def test_the_wide_tables_scroll_inside_their_box_on_a_phone(journey, world, browser):
    """At 375 px the page itself never scrolls sideways (``check_page``); the tables do,
    inside their box, with the first column still in view, and the header follows the
    page down."""
    context = browser.new_context(viewport=PHONE)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    trust_url = journey["host"](journey["trust"])
    page.goto(f"{trust_url}/analytics/")
    sign_in(page, "priya@oak-ridge.test")
    for path in ("/analytics/", "/institutions/", "/data-sharing/?tab=pending"):
        page.goto(f"{trust_url}{path}")
        # The first table in view: on Analytics the charts above it keep their figures in
        # closed disclosures.
        wrap = page.locator(".mm-table-wrap:visible").first
        sizes = wrap.evaluate("box => [box.scrollWidth, box.clientWidth]")
        assert sizes[0] > sizes[1], f"{path}: the table fits, nothing to scroll: {sizes}"
        inner = wrap.evaluate("box => box.scrollHeight - box.clientHeight")
        assert inner <= 0, f"{path}: the box scrolls down inside the page by {inner} px"
        first = wrap.locator("tbody th[scope=row]").first
        left_before = first.bounding_box()["x"]
        wrap.evaluate("box => box.scrollBy(200, 0)")
        assert abs(first.bounding_box()["x"] - left_before) < 1, path  # it stayed
    # The header follows the page down a long table (with JavaScript).
    page.goto(f"{trust_url}/analytics/")
    # The schools' table (the charts' own tables, above it, are in closed disclosures).
    header = page.locator(".mm-table--figures thead th").first
    page.evaluate(
        "window.scrollTo(0, window.scrollY + document.querySelector("
        "'.mm-table--figures tbody:last-child').getBoundingClientRect().bottom - 300)"
    )
    page.wait_for_function(
        "() => Math.abs(document.querySelector('.mm-table--figures thead th')"
        ".getBoundingClientRect().top) < 2"
    )
    assert abs(header.bounding_box()["y"]) < 2
    page.screenshot(path=str(ARTIFACTS / "sweep-trust-analytics-scrolled-375.png"))
    context.close()


def test_every_page_a_head_teacher_reaches(journey, world, browser):
    context = browser.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    school_url = journey["host"](world["st_marys"])
    page.goto(f"{school_url}/")
    sign_in(page, journey["heads"][0].email)
    checked = sweep(page, f"{school_url}/", "school")
    paths = {urlsplit(url).path for url in checked}
    for expected in ("/", "/students/", "/attendance/", "/accessibility/"):
        assert expected in paths, sorted(paths)
    context.close()


def test_every_page_someone_signed_out_reaches_on_each_kind_of_host(journey, world, browser):
    context = browser.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    starts = {
        "signed-out-trust": journey["host"](journey["trust"]) + "/accounts/sign-in/",
        "signed-out-school": journey["host"](world["st_marys"]) + "/accounts/sign-in/",
        "signed-out-platform": journey["base"] + "/sign-in/",
    }
    for prefix, start in starts.items():
        checked = sweep(page, start, prefix)
        paths = {urlsplit(url).path for url in checked}
        assert {"/privacy/", "/accessibility/"} <= paths, (prefix, sorted(paths))
    context.close()
