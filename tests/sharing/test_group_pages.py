"""Institutions > Data Sharing Agreements on a group site: the tabs, the filters, the
bulk actions as pages and as slide-over panels, the summary after each, the permission
ladder and tenancy."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.audit import system_actor
from accounts.permissions import INSTITUTION_DETAILS, Access
from sharing.models import AccessLevel, AgreementRequest, RequestReminder, RequestStatus
from sharing.services.agreements import agreement_raise
from tests.factories import StaffProfileFactory, TrustFactory, grant_permission
from tests.institutions.factories import (
    ClusterFactory,
    add_school,
    group_admin,
    group_staff,
    outsider,
    put_in_cluster,
)

from .factories import (
    add_recipients,
    group_admin_profile,
    head_of,
    head_teacher,
    make_request,
    queued_emails,
    school_with_head,
)

URL = "/data-sharing/"
L1, L2, L3 = (
    AccessLevel.DFE_DATA,
    AccessLevel.DFE_AND_MIS_DATA,
    AccessLevel.DFE_MIS_AND_GROUP_ACTIONS,
)
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def group(trust):
    return trust


@pytest.fixture
def schools(group):
    """Acorn (no agreement), Beech (pending), Cedar (approved at 1), Damson (declined)."""
    acorn = school_with_head(group, name="Acorn Primary", urn="100001", phase="Primary")
    beech = school_with_head(group, name="Beech Academy", urn="100002", phase="Secondary")
    cedar = school_with_head(group, name="Cedar Primary", urn="100003", phase="Primary")
    damson = school_with_head(group, name="Damson School", urn="100004", phase="Secondary")
    make_request(group, beech, level=L2)
    agreement_raise(group=group, school=cedar, level=L1, actor=system_actor())
    declined = make_request(group, damson, status=RequestStatus.DECLINED)
    declined.decline_reason = "Governors meet next month"
    declined.save()
    return {"acorn": acorn, "beech": beech, "cedar": cedar, "damson": damson}


@pytest.fixture
def admin(group):
    return group_admin(group)


def page(client, **params):
    response = client.get(URL, params)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def row_urns(html: str) -> list[str]:
    return re.findall(r'<td class="mm-table__cell--nowrap">(\d{6})</td>', html)


@pytest.mark.django_db
class TestTabs:
    def test_no_agreement_is_the_first_tab(self, site_client, group, schools, admin):
        html = page(site_client(group, admin))
        assert row_urns(html) == ["100001", "100004"]
        assert 'No Agreement <span class="mm-tab-count">(2)</span>' in html
        assert 'Pending <span class="mm-tab-count">(1)</span>' in html
        assert 'Approved <span class="mm-tab-count">(1)</span>' in html
        assert "Declined" in html and "Governors meet next month" in html
        assert "Not asked yet" in html

    def test_pending_and_approved(self, site_client, group, schools, admin):
        client = site_client(group, admin)
        pending = page(client, tab="pending")
        assert row_urns(pending) == ["100002"]
        assert "DfE Data &amp; MIS Data" in pending
        assert "No emails" in pending  # no delivery records in this test
        approved = page(client, tab="approved")
        assert row_urns(approved) == ["100003"]
        assert "never lowered" in approved

    def test_says_how_many_have_not_shared(self, site_client, group, schools, admin):
        html = page(site_client(group, admin))
        assert (
            "<strong>3 of 4</strong> schools have not shared data with Oak Ridge Trust yet" in html
        )
        assert "1 has a request pending and 2 have no open request" in html

    def test_search_and_filters_as_in_browse(self, site_client, group, schools, admin):
        client = site_client(group, admin)
        assert row_urns(page(client, phase="Secondary")) == ["100004"]
        assert row_urns(page(client, q="acorn")) == ["100001"]
        cluster = ClusterFactory(group=group)
        put_in_cluster(cluster, schools["damson"])
        assert row_urns(page(client, cluster=str(cluster.pk))) == ["100004"]
        html = page(client, phase="Secondary")
        assert 'No Agreement <span class="mm-tab-count">(1)</span>' in html
        assert 'Approved <span class="mm-tab-count">(0)</span>' in html

    def test_clear_search_and_filters_stays_on_the_tab(self, site_client, group, schools, admin):
        client = site_client(group, admin)
        pending = page(client, tab="pending", phase="Primary")
        assert 'mm-filters__clear" href="/data-sharing/?tab=pending"' in pending
        first_tab = page(client, phase="Primary")
        assert 'mm-filters__clear" href="/data-sharing/"' in first_tab

    def test_tab_links_keep_the_filters(self, site_client, group, schools, admin):
        html = page(site_client(group, admin), phase="Primary")
        assert 'href="?phase=Primary&amp;tab=pending"' in html

    def test_htmx_swaps_the_panel_and_pushes_the_address(self, site_client, group, schools, admin):
        response = site_client(group, admin).get(URL, {"tab": "approved"}, **HTMX)
        html = response.content.decode()
        assert 'id="agreements-panel"' in html
        assert "<html" not in html
        assert 'hx-swap-oob="true"' in html
        assert response["HX-Push-Url"] == "/data-sharing/?tab=approved"

    def test_unknown_tab_falls_back_to_no_agreement(self, site_client, group, schools, admin):
        assert row_urns(page(site_client(group, admin), tab="bogus")) == ["100001", "100004"]

    def test_only_the_groups_schools(self, site_client, group, schools, admin):
        other = TrustFactory()
        school_with_head(other, urn="200001")
        assert "200001" not in page(site_client(group, admin))

    def test_constant_queries_for_3_and_30_schools(self, site_client):
        measured = []
        for size in (3, 30):
            group = TrustFactory()
            for n in range(size):
                school = add_school(group)
                if n % 3 == 1:
                    make_request(group, school)
                elif n % 3 == 2:
                    agreement_raise(group=group, school=school, level=L1, actor=system_actor())
            client = site_client(group, group_admin(group))
            for tab in ("none", "pending", "approved"):
                client.get(URL, {"tab": tab})
                with CaptureQueriesContext(connection) as queries:
                    assert client.get(URL, {"tab": tab}).status_code == 200
                measured.append((size, tab, len(queries)))
        small = [n for size, _, n in measured if size == 3]
        large = [n for size, _, n in measured if size == 30]
        assert small == large, measured


@pytest.mark.django_db
class TestPermissionLadder:
    @pytest.mark.parametrize(
        "path", [URL, URL + "send/", URL + "send/preview/", URL + "remind/", URL + "withdraw/"]
    )
    def test_anonymous_is_sent_to_sign_in(self, site_client, group, path):
        response = site_client(group).get(path)
        assert response.status_code == 302
        assert "/accounts/sign-in/" in response["Location"]

    @pytest.mark.parametrize(
        "path", [URL, URL + "send/", URL + "remind/", URL + "withdraw/", URL + "result/"]
    )
    def test_another_sites_staff_get_404(self, site_client, group, path):
        assert site_client(group, outsider()).get(path).status_code == 404

    def test_staff_without_the_permission_see_but_cannot_act(self, site_client, group, schools):
        client = site_client(group, group_staff(group))
        html = page(client)
        assert row_urns(html) == ["100001", "100004"]
        assert "Send data sharing requests" not in html
        assert 'name="school"' not in html
        assert "needs the permission “Institution: Administer Institution Details”" in html
        for path in ("send/", "send/preview/", "remind/", "withdraw/"):
            assert client.get(URL + path, {"school": "100001"}).status_code == 403
        response = client.post(
            URL + "send/",
            {"school": "100001", "level": "1", "sender": "1", "roles": "all", "tab": "none"},
        )
        assert response.status_code == 403
        assert not AgreementRequest.objects.filter(school=schools["acorn"]).exists()

    def test_view_access_is_not_enough(self, site_client, group, schools):
        user = group_staff(group)
        grant_permission(user, group, INSTITUTION_DETAILS, Access.VIEW)
        client = site_client(group, user)
        assert client.get(URL).status_code == 200
        assert client.get(URL + "send/", {"school": "100001"}).status_code == 403

    def test_with_the_permission(self, site_client, group, schools, admin):
        html = page(site_client(group, admin))
        assert "Send data sharing requests" in html
        assert 'name="school" value="100001"' in html

    def test_a_school_site_has_no_such_page(self, site_client, group, schools):
        school = schools["acorn"]
        head = head_teacher(school)
        assert site_client(school, head.user).get(URL).status_code == 404


def send_data(admin_profile, **extra):
    data = {
        "tab": "none",
        "level": str(int(L2)),
        "sender": str(admin_profile.pk),
        "roles": ["Head Teacher"],
    }
    data.update(extra)
    return data


@pytest.mark.django_db
class TestSend:
    def test_the_page_without_javascript(self, site_client, group, schools):
        profile = group_admin_profile(group)
        client = site_client(group, profile.user)
        response = client.get(URL + "send/", {"tab": "none", "school": ["100001", "100004"]})
        html = response.content.decode()
        assert response.status_code == 200
        assert "<html" in html
        assert "Send data sharing requests" in html
        assert 'name="school" value="100001"' in html  # the selection, carried
        assert "Will be sent to <strong>2 schools</strong>" in html  # Head Teacher by default
        assert f'<option value="{profile.pk}" selected>' in html  # from oneself by default
        for level in AccessLevel:
            assert level.label.replace("&", "&amp;") in html

    def test_sends_and_shows_what_happened(self, site_client, group, schools):
        profile = group_admin_profile(group)
        nobody = add_school(group, name="Elm Infants", urn="100005")
        client = site_client(group, profile.user)
        response = client.post(
            URL + "send/", send_data(profile, school=["100001", "100004", nobody.urn])
        )
        assert response.status_code == 302
        assert response["Location"] == "/data-sharing/result/"
        assert set(
            AgreementRequest.objects.filter(status=RequestStatus.PENDING).values_list(
                "school__urn", flat=True
            )
        ) == {"100001", "100002", "100004"}
        html = client.get(response["Location"]).content.decode()
        assert (
            "Requests sent to 2 schools. 1 school was skipped: no Head Teacher with an email "
            "address."
        ) in html
        assert "Elm Infants" in html

    def test_all_matching_schools_across_pages(self, site_client, group, schools):
        profile = group_admin_profile(group)
        client = site_client(group, profile.user)
        response = client.post(URL + "send/", send_data(profile, all="1", phase="Secondary"))
        assert response.status_code == 302
        sent = AgreementRequest.objects.filter(status=RequestStatus.PENDING, sender=profile)
        assert set(sent.values_list("school__urn", flat=True)) == {"100004"}

    def test_in_the_slide_over(self, site_client, group, schools):
        profile = group_admin_profile(group)
        client = site_client(group, profile.user)
        response = client.get(URL + "send/", {"tab": "none", "school": "100001"}, **HTMX)
        html = response.content.decode()
        assert "<html" not in html
        assert 'id="bulk-panel-footer" hx-swap-oob="true"' in html
        assert 'form="bulk-form"' in html
        response = client.post(URL + "send/", send_data(profile, school="100001"), **HTMX)
        assert response.status_code == 204
        assert response["HX-Redirect"] == "/data-sharing/result/"

    def test_errors_are_shown_and_nothing_is_sent(self, site_client, group, schools):
        profile = group_admin_profile(group)
        client = site_client(group, profile.user)
        response = client.post(
            URL + "send/", {"tab": "none", "school": "100001", "sender": str(profile.pk)}
        )
        html = response.content.decode()
        assert response.status_code == 200
        assert "Choose the access level to ask for." in html
        assert "Choose who should receive the request." in html
        assert not AgreementRequest.objects.filter(school=schools["acorn"]).exists()

    def test_the_preview_names_recipients_and_the_skipped(self, site_client, group, schools):
        profile = group_admin_profile(group)
        add_school(group, name="Elm Infants", urn="100005")
        client = site_client(group, profile.user)
        html = client.get(
            URL + "send/preview/",
            {"tab": "none", "school": ["100001", "100005"], "roles": "Head Teacher", "level": "2"},
        ).content.decode()
        assert "Will be sent to <strong>1 school</strong>" in html
        assert "No Head Teacher with an email address</strong> (1):" in html
        assert "Elm Infants" in html
        assert "(Head Teacher)" in html

    def test_the_sender_must_be_the_groups_own(self, site_client, group, schools):
        profile = group_admin_profile(group)
        stranger = StaffProfileFactory(site=TrustFactory())
        client = site_client(group, profile.user)
        response = client.post(
            URL + "send/", send_data(profile, school="100001", sender=str(stranger.pk))
        )
        assert "Choose someone from this group’s staff." in response.content.decode()
        assert not AgreementRequest.objects.filter(school=schools["acorn"]).exists()

    def test_another_groups_school_is_a_404(self, site_client, group, schools):
        profile = group_admin_profile(group)
        school_with_head(TrustFactory(), urn="200001")
        client = site_client(group, profile.user)
        assert client.get(URL + "send/", {"school": ["100001", "200001"]}).status_code == 404
        response = client.post(URL + "send/", send_data(profile, school=["100001", "200001"]))
        assert response.status_code == 404
        assert not AgreementRequest.objects.filter(school__urn="200001").exists()
        assert not AgreementRequest.objects.filter(school=schools["acorn"]).exists()


@pytest.mark.django_db
class TestRaise:
    def test_only_higher_levels_are_offered(self, site_client, group, schools):
        profile = group_admin_profile(group)
        client = site_client(group, profile.user)
        html = client.get(URL + "send/", {"tab": "approved", "school": "100003"}).content.decode()
        assert "Request a higher access level" in html
        assert 'name="level" type="radio" value="1"' not in html
        assert 'value="2"' in html and 'value="3"' in html
        assert "never lowered" in html

    def test_a_lower_level_is_refused(self, site_client, group, schools):
        profile = group_admin_profile(group)
        client = site_client(group, profile.user)
        response = client.post(
            URL + "send/", send_data(profile, tab="approved", school="100003", level="1")
        )
        assert "Choose one of the access levels offered." in response.content.decode()
        assert not AgreementRequest.objects.filter(school=schools["cedar"]).exists()

    def test_raises(self, site_client, group, schools):
        profile = group_admin_profile(group)
        client = site_client(group, profile.user)
        client.post(URL + "send/", send_data(profile, tab="approved", school="100003", level="3"))
        assert AgreementRequest.objects.get(school=schools["cedar"]).level == L3

    def test_nothing_above_the_highest(self, site_client, group, schools):
        agreement_raise(group=group, school=schools["cedar"], level=L3, actor=system_actor())
        profile = group_admin_profile(group)
        html = (
            site_client(group, profile.user)
            .get(URL + "send/", {"tab": "approved", "school": "100003"})
            .content.decode()
        )
        assert "There is nothing higher to ask for." in html


@pytest.mark.django_db
class TestRemindAndWithdraw:
    def test_remind(self, site_client, group, schools, admin):
        request = AgreementRequest.objects.get(school=schools["beech"])
        add_recipients(request, head_of(schools["beech"]))
        client = site_client(group, admin)
        html = client.get(URL + "remind/", {"tab": "pending", "request": request.pk}).content
        assert b"Beech Academy" in html
        response = client.post(URL + "remind/", {"tab": "pending", "request": request.pk})
        assert response.status_code == 302
        reminder = RequestReminder.objects.get(request=request)
        assert queued_emails() == [("reminder", request.pk, reminder.pk)]
        html = client.get("/data-sharing/result/").content.decode()
        assert "Reminder sent to 1 school." in html
        response = client.post(URL + "remind/", {"tab": "pending", "all": "1"})
        html = client.get("/data-sharing/result/").content.decode()
        assert "a reminder was sent in the last hour" in html
        assert "the next reminder can be sent after" in html

    def test_withdraw(self, site_client, group, schools, admin):
        request = AgreementRequest.objects.get(school=schools["beech"])
        client = site_client(group, admin)
        client.post(URL + "withdraw/", {"tab": "pending", "request": request.pk})
        request.refresh_from_db()
        assert request.status == RequestStatus.WITHDRAWN
        assert row_urns(page(client)) == ["100001", "100002", "100004"]
        client.post(URL + "withdraw/", {"tab": "pending", "request": request.pk})  # harmless
        html = client.get("/data-sharing/result/").content.decode()
        assert "the request was already withdrawn" in html

    def test_another_groups_request_id_is_a_404(self, site_client, group, schools, admin):
        other = TrustFactory()
        foreign = make_request(other, add_school(other))
        client = site_client(group, admin)
        for path in ("remind/", "withdraw/"):
            assert client.get(URL + path, {"request": foreign.pk}).status_code == 404
            assert client.post(URL + path, {"request": foreign.pk}).status_code == 404
        foreign.refresh_from_db()
        assert foreign.status == RequestStatus.PENDING
        assert not RequestReminder.objects.exists()

    def test_nothing_chosen(self, site_client, group, schools, admin):
        response = site_client(group, admin).post(URL + "withdraw/", {"tab": "pending"})
        assert "Choose at least one pending request." in response.content.decode()


@pytest.mark.django_db
def test_the_result_page_without_an_action_goes_back(site_client, group, admin):
    response = site_client(group, admin).get(URL + "result/")
    assert response.status_code == 302
    assert response["Location"] == "/data-sharing/"


@pytest.mark.django_db
def test_browse_and_the_institution_page_show_the_status(site_client, group, schools):
    client = site_client(group, group_staff(group))
    html = client.get("/institutions/").content.decode()
    cedar = html[html.index("/institutions/100003/") :]
    assert 'Approved</strong><span class="mm-table__secondary">DfE Data<' in cedar
    beech = html[html.index("/institutions/100002/") :]
    assert 'Pending</strong><span class="mm-table__secondary">DfE Data &amp; MIS Data' in beech
    detail = client.get("/institutions/100003/").content.decode()
    assert "Published government statistics" in detail  # what level 1 allows
    assert "never lowered" in detail
    detail = client.get("/institutions/100002/").content.decode()
    assert "is waiting for the school’s head teacher" in detail
