"""School site, Data > Data Sharing: the overview, a request's page, and Approve / Decline
with their confirmation step."""

import re
from urllib.parse import quote

import pytest

from accounts.models import AuditEvent
from sharing.models import AccessLevel, Agreement, AgreementRequest, RequestStatus
from tests.factories import StaffProfileFactory
from tests.notifications.factories import make_pair, make_request

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair():
    return make_pair()


@pytest.fixture
def pending(pair):
    return make_request(pair, level=AccessLevel.DFE_AND_MIS_DATA)


def url(request, action=""):
    return f"/data/data-sharing/requests/{request.pk}/" + (f"{action}/" if action else "")


def snapshot():
    return (
        list(AgreementRequest.objects.order_by("pk").values_list("status", "decided_at")),
        list(Agreement.objects.values_list("level", flat=True)),
        AuditEvent.objects.count(),
    )


# --- The permission ladder ------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_sign_in_and_back_to_the_request(pair, pending, site_client):
    for path in (url(pending), url(pending, "approve"), "/data/data-sharing/"):
        response = site_client(pair.school).get(path)
        assert response.status_code == 302
        assert response["Location"] == f"/accounts/sign-in/?next={quote(path)}"


def test_staff_of_another_site_get_a_404(pair, pending, site_client):
    outsider = StaffProfileFactory(site=pair.trust).user  # no profile at the school
    client = site_client(pair.school, outsider)
    for path in (url(pending), url(pending, "approve"), "/data/data-sharing/"):
        assert client.get(path).status_code == 404
    assert client.post(url(pending, "approve")).status_code == 404
    assert AgreementRequest.objects.get().status == RequestStatus.PENDING


def test_a_group_site_has_no_school_sharing_pages(pair, pending, site_client):
    client = site_client(pair.trust, pair.sender.user)
    assert client.get("/data/data-sharing/").status_code == 404
    assert client.get(url(pending)).status_code == 404


def test_staff_without_the_permission_see_the_request_and_who_can_approve_it(
    pair, pending, site_client
):
    response = site_client(pair.school, pair.teacher).get(url(pending))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Oak Ridge Trust asks to see “DfE Data &amp; MIS Data”" in html
    assert "Priya Shah" in html
    assert "Trust Administrator" in html
    assert "live figures from the school&#x27;s MIS" in html  # what it allows
    assert "does not let anyone at the group log in to the school" in html  # and does not
    assert "Only people with the permission “Data Sharing Request: Administer”" in html
    assert "Helen Archer (Head Teacher)" in html
    assert url(pending, "approve") not in html
    assert url(pending, "decline") not in html


def test_staff_without_the_permission_cannot_approve_or_decline(pair, pending, site_client):
    client = site_client(pair.school, pair.teacher)
    before = snapshot()
    for action in ("approve", "decline"):
        response = client.get(url(pending, action))
        assert response.status_code == 403
        assert "Data Sharing Request: Administer" in response.content.decode()
        assert client.post(url(pending, action)).status_code == 403
    assert snapshot() == before


def test_the_head_sees_approve_and_decline(pair, pending, site_client):
    html = site_client(pair.school, pair.head).get(url(pending)).content.decode()
    assert f'href="{url(pending, "approve")}"' in html
    assert f'href="{url(pending, "decline")}"' in html
    assert "Only people with the permission" not in html


def test_a_request_of_another_school_is_a_404_like_a_missing_one(pair, site_client):
    other = make_pair(school_name="Elm Primary", school_slug="elm", trust_slug="other-trust")
    theirs = make_request(other)
    client = site_client(pair.school, pair.head)
    for path in (url(theirs), url(theirs, "approve"), url(theirs, "decline")):
        assert client.get(path).status_code == 404
    assert client.post(url(theirs, "approve")).status_code == 404
    assert client.get("/data/data-sharing/requests/999999/").status_code == 404
    assert AgreementRequest.objects.get(pk=theirs.pk).status == RequestStatus.PENDING


# --- GET never changes anything -------------------------------------------------------------


def test_no_get_changes_anything(pair, pending, site_client):
    before = snapshot()
    for user in (None, pair.teacher, pair.head):
        client = site_client(pair.school, user)
        for path in (
            "/data/data-sharing/",
            url(pending),
            url(pending, "approve"),
            url(pending, "decline"),
        ):
            client.get(path)
    assert snapshot() == before


# --- Approve and decline --------------------------------------------------------------------


def test_approving_goes_through_a_confirmation_step_and_is_final(pair, pending, site_client):
    client = site_client(pair.school, pair.head)
    confirm = client.get(url(pending, "approve"))
    assert confirm.status_code == 200
    html = confirm.content.decode()
    assert "Approve “DfE Data &amp; MIS Data” for Oak Ridge Trust?" in html
    assert "This is final" in html
    assert f'action="{url(pending, "approve")}"' in html

    response = client.post(url(pending, "approve"), follow=True)
    assert response.redirect_chain == [(url(pending), 302)]
    html = response.content.decode()
    assert "Approved. Oak Ridge Trust can now see “DfE Data &amp; MIS Data” for St Mary’s" in html
    pending.refresh_from_db()
    assert pending.status == RequestStatus.APPROVED
    assert pending.decided_by == pair.head
    assert Agreement.objects.get(group=pair.trust, school=pair.school).level == 2
    # Final: no buttons any more, and the confirmation step is gone.
    assert url(pending, "decline") not in html
    again = client.get(url(pending, "approve"), follow=True)
    assert "This request is already approved" in again.content.decode()
    assert client.post(url(pending, "decline")).status_code == 302
    pending.refresh_from_db()
    assert pending.status == RequestStatus.APPROVED


def test_declining_with_a_reason(pair, pending, site_client):
    client = site_client(pair.school, pair.head)
    confirm = client.get(url(pending, "decline"))
    assert "Decline the request from Oak Ridge Trust?" in confirm.content.decode()
    response = client.post(
        url(pending, "decline"), {"reason": "Not this term, please."}, follow=True
    )
    assert "Declined. Oak Ridge Trust’s request" in response.content.decode()
    pending.refresh_from_db()
    assert (pending.status, pending.decline_reason) == (
        RequestStatus.DECLINED,
        "Not this term, please.",
    )
    assert not Agreement.objects.exists()


def test_a_too_long_reason_is_refused_on_the_form(pair, pending, site_client):
    response = site_client(pair.school, pair.head).post(
        url(pending, "decline"), {"reason": "x" * 501}
    )
    assert response.status_code == 400
    assert "There is a problem" in response.content.decode()
    pending.refresh_from_db()
    assert pending.status == RequestStatus.PENDING


# --- The overview ---------------------------------------------------------------------------


def test_the_overview_lists_pending_requests_first_then_agreements_and_history(pair, site_client):
    client = site_client(pair.school, pair.head)
    first = make_request(pair, level=AccessLevel.DFE_DATA)
    client.post(url(first, "approve"))
    declined = make_request(pair, level=AccessLevel.DFE_MIS_AND_GROUP_ACTIONS)
    client.post(url(declined, "decline"), {"reason": ""})
    waiting = make_request(pair, level=AccessLevel.DFE_AND_MIS_DATA)

    html = client.get("/data/data-sharing/").content.decode()
    pending_at = html.index("Requests waiting for an answer (1)")
    agreements_at = html.index('id="agreements-heading"')
    history_at = html.index('id="history-heading"')
    assert pending_at < agreements_at < history_at
    assert f'href="{url(waiting)}"' in html[pending_at:agreements_at]
    agreements = html[agreements_at:history_at]
    assert "Oak Ridge Trust" in agreements
    assert "DfE Data" in agreements
    assert "Helen Archer" in agreements  # approved by
    history = html[history_at:]
    assert history.index(url(declined)) < history.index(url(first))  # newest first
    assert "Declined" in history
    assert "Approved" in history


def test_the_overview_says_when_an_agreement_was_automated(pair, site_client):
    from accounts.audit import system_actor
    from sharing.services.agreements import agreement_raise

    agreement_raise(
        group=pair.trust,
        school=pair.school,
        level=AccessLevel.DFE_DATA,
        actor=system_actor(),
        automated=True,
    )
    html = site_client(pair.school, pair.teacher).get("/data/data-sharing/").content.decode()
    assert "Set up for the whole trust by platform support" in html


def test_the_overview_takes_the_same_queries_for_many_requests(
    pair, site_client, django_assert_max_num_queries
):
    client = site_client(pair.school, pair.head)
    make_request(pair)
    client.get("/data/data-sharing/")
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get("/data/data-sharing/")
    for n in range(5):
        other = make_pair(school_slug=f"o{n}", trust_slug=f"ot{n}", trust_name=f"Trust {n}")
        make_request(other)  # other schools' requests: not shown
        make_request(pair, status=RequestStatus.WITHDRAWN)
    with django_assert_max_num_queries(len(few)):
        response = client.get("/data/data-sharing/")
    assert response.content.decode().count("Withdrawn") == 5


# --- A decided request says what was decided -------------------------------------------------


def _h1(html: str) -> str:
    return re.search(r'<h1 class="govuk-heading-l">(.*?)</h1>', html, re.S).group(1)


def test_an_approved_request_says_so_with_level_who_and_when(pair, pending, site_client):
    client = site_client(pair.school, pair.head)
    client.post(url(pending, "approve"))
    pending.refresh_from_db()
    html = client.get(url(pending)).content.decode()
    assert _h1(html) == "St Mary’s approved “DfE Data &amp; MIS Data” for Oak Ridge Trust"
    assert "asks to see" not in html
    when = f"{pending.decided_at:%-d %B %Y} at"
    assert f"Approved on {when}" in html and "by Helen Archer" in html
    # Everyone at the school reads the same, not only the person who decided.
    other = site_client(pair.school, pair.teacher).get(url(pending)).content.decode()
    assert _h1(other) == _h1(html)


def test_a_declined_request_says_so_with_who_when_and_the_reason(pair, pending, site_client):
    client = site_client(pair.school, pair.head)
    client.post(url(pending, "decline"), {"reason": "Not this term, please."})
    html = client.get(url(pending)).content.decode()
    assert _h1(html) == (
        "St Mary’s declined Oak Ridge Trust’s request for “DfE Data &amp; MIS Data”"
    )
    assert "asks to see" not in html
    assert "Declined on " in html and "by Helen Archer" in html
    assert "Oak Ridge Trust was not given “DfE Data &amp; MIS Data”" in html
    assert "Not this term, please." in html


def test_a_withdrawn_request_says_nothing_was_decided(pair, pending, site_client):
    AgreementRequest.objects.filter(pk=pending.pk).update(status=RequestStatus.WITHDRAWN)
    html = site_client(pair.school, pair.head).get(url(pending)).content.decode()
    assert _h1(html) == "Oak Ridge Trust withdrew its request for “DfE Data &amp; MIS Data”"
    assert "Nothing was decided on this request" in html
    assert url(pending, "approve") not in html
