"""“Check access to a page”: the tool's answer for a person equals what that person gets
from the site, for a sample of real routes; other hosts, unknown addresses and public
pages are said so; the page and the API; and a hop uses the edited in-school set."""

import pytest

from accounts.audit import Actor
from accounts.models import SiteSecurityPolicy
from accounts.permissions import INSTITUTION_DETAILS, LOGIN_TO_MIS, USER_DETAILS, Access
from accounts.roles.access_check import Answer, page_access
from accounts.roles.services import role_grants_set
from accounts.staff.services import roles_ensure_defaults
from tests.accounts.factories import add_school, another_trust, hold, person, role_with
from tests.conftest import host_of
from tests.hop.factories import World

pytestmark = pytest.mark.django_db

GROUP_ROUTES = [
    "/",
    "/staff/",
    "/staff/roles/",
    "/staff/roles/new/",
    "/staff/roles/check-access/",
    "/institutions/",
    "/institutions/clusters/",
    "/institutions/clusters/new/",
    "/data-sharing/",
    "/audit/",
    "/analytics/",
    "/log-in-to-mis/",
    "/api/v1/roles/",
    "/api/v1/staff/",
    "/api/v1/clusters/",
    "/api/v1/audit-events/",
]
SCHOOL_ROUTES = ["/", "/staff/", "/staff/roles/", "/data/data-sharing/", "/students/", "/audit/"]


@pytest.fixture
def people(trust):
    """Staff of the trust with different permissions."""
    manager = role_with(trust, "Manager", {USER_DETAILS: Access.ADMINISTER})
    result = {
        "manager": person(trust, name="Ada Admin"),
        "viewer": person(trust, name="Val Viewer"),
        "reader": person(trust, name="Rae Reader"),
        "lead": person(trust, name="Lee Lead"),
        "nobody": person(trust, name="Nia Nobody"),
    }
    hold(result["manager"], manager)
    hold(result["viewer"], role_with(trust, "Viewer", {USER_DETAILS: Access.VIEW}))
    hold(
        result["reader"],
        role_with(trust, "Reader", {INSTITUTION_DETAILS: Access.VIEW}),
    )
    hold(
        result["lead"],
        role_with(
            trust, "Lead", {INSTITUTION_DETAILS: Access.ADMINISTER, LOGIN_TO_MIS: Access.ADMINISTER}
        ),
    )
    return result


def gets(client, path) -> bool:
    """Whether ``client`` may open ``path``: a 200 (every refusal is a 403, 404 or a
    redirect to sign in or set up two-factor)."""
    response = client.get(path)
    assert response.status_code in (200, 302, 403, 404), (path, response.status_code)
    return response.status_code == 200


def tool(site, profile, url):
    return page_access(site=site, host=host_of(site), url=url, user=profile.user)


class TestTheToolAgreesWithTheSite:
    @pytest.mark.parametrize("path", GROUP_ROUTES)
    def test_group_routes(self, site_client, trust, people, path):
        add_school(trust, name="Ash Primary", urn="100001")
        for who, profile in people.items():
            answer = tool(trust, profile, path)
            got = gets(site_client(trust, profile.user), path)
            assert answer.may_open is got, (who, path, answer.message)

    @pytest.mark.parametrize("path", SCHOOL_ROUTES)
    def test_school_routes(self, site_client, trust, path):
        school = add_school(trust, name="Ash Primary", urn="100001")
        head = person(school, name="Hal Head")
        hold(
            head,
            role_with(
                school, "Head", {USER_DETAILS: Access.ADMINISTER, INSTITUTION_DETAILS: Access.VIEW}
            ),
        )
        teacher = person(school, name="Tia Teacher")
        for profile in (head, teacher):
            answer = tool(school, profile, path)
            assert answer.may_open is gets(site_client(school, profile.user), path), (
                path,
                answer.message,
            )

    def test_a_site_requiring_two_factor(self, site_client, trust, people):
        SiteSecurityPolicy.objects.create(site=trust, require_two_factor=True)
        profile = people["manager"]
        answer = tool(trust, profile, "/staff/roles/")
        assert answer.may_open is False
        assert "requires two-factor sign-in" in answer.message
        response = site_client(trust, profile.user).get("/staff/roles/")
        assert response.status_code == 302 and "two-factor" in response.headers["Location"]
        # The pages for setting it up stay open to them, and the tool says so.
        setup = "/accounts/two-factor/"
        assert tool(trust, profile, setup).may_open is gets(site_client(trust, profile.user), setup)

    def test_a_wrong_kind_of_host_is_no_page_here(self, trust, people):
        answer = tool(trust, people["manager"], "/students/")
        assert answer.answer is Answer.NO_SUCH_PAGE
        assert answer.may_open is None


class TestAnswers:
    def test_which_permission_decides(self, trust, people):
        answer = tool(trust, people["viewer"], "/staff/roles/new/")
        assert answer.answer is Answer.MAY_NOT_OPEN
        assert answer.requirement == (USER_DETAILS, Access.ADMINISTER)
        assert answer.held is Access.VIEW
        assert answer.message == (
            "Val Viewer may not open /staff/roles/new/: it needs “User Details: Manage All "
            "Users” at Administer, and Val Viewer has it at View."
        )
        answer = tool(trust, people["manager"], "/staff/roles/new/")
        assert answer.answer is Answer.MAY_OPEN
        assert "and Ada Admin has it at Administer" in answer.message

    def test_a_page_for_every_member_of_staff(self, trust, people):
        answer = tool(trust, people["nobody"], "/staff/")
        assert answer.may_open is True and answer.requirement is None
        assert "every member of staff of this site may open it" in answer.message

    def test_full_address_on_this_host_with_a_query(self, trust, people):
        url = f"https://{host_of(trust)}:8000/staff/roles/?q=x#top"
        answer = tool(trust, people["manager"], url)
        assert (answer.answer, answer.path) == (Answer.MAY_OPEN, "/staff/roles/")

    def test_an_address_without_scheme_or_slash(self, trust, people):
        assert tool(trust, people["manager"], f"{host_of(trust)}/staff/").may_open is True
        assert tool(trust, people["manager"], "staff/roles").path == "/staff/roles/"

    @pytest.mark.parametrize(
        "url", ["https://elsewhere.example.org/staff/", "//other-trust.localhost/staff/"]
    )
    def test_another_host_is_refused_clearly(self, trust, people, url):
        answer = tool(trust, people["manager"], url)
        assert answer.answer is Answer.OTHER_HOST
        assert "not on this site" in answer.message and "paste an address of this site" in (
            answer.message
        )

    def test_another_sites_host_is_refused(self, trust, people):
        other = another_trust()
        answer = tool(trust, people["manager"], f"https://{host_of(other)}/staff/")
        assert answer.answer is Answer.OTHER_HOST

    def test_an_unknown_address(self, trust, people):
        answer = tool(trust, people["manager"], "/no/such/page/")
        assert answer.answer is Answer.NO_SUCH_PAGE
        assert answer.message == "No page of this site has the address /no/such/page/."

    @pytest.mark.parametrize("url", ["", "   ", "javascript:alert(1)", "/staff/ roles/"])
    def test_not_an_address(self, trust, people, url):
        assert tool(trust, people["manager"], url).answer is Answer.NOT_AN_ADDRESS

    def test_public_pages_say_so(self, trust, people):
        answer = tool(trust, people["nobody"], "/accounts/sign-in/")
        assert answer.answer is Answer.OPEN_TO_EVERYONE
        assert "open to everyone" in answer.message


class TestPageAndApi:
    def test_the_page(self, site_client, trust, people):
        client = site_client(trust, people["viewer"].user)
        empty = client.get("/staff/roles/check-access/")
        assert empty.status_code == 200 and "access-answer" not in empty.content.decode()
        page = client.get(
            "/staff/roles/check-access/",
            {"url": "/staff/roles/new/", "person": people["reader"].pk},
        ).content.decode()
        assert "May not open" in page
        assert "Rae Reader may not open /staff/roles/new/" in page
        assert "Rae Reader does not have it" in page

    def test_the_page_needs_view(self, site_client, trust, people):
        client = site_client(trust, people["reader"].user)
        assert client.get("/staff/roles/check-access/").status_code == 403

    def test_the_page_refuses_a_person_of_another_site(self, site_client, trust, people):
        stranger = person(another_trust(), name="Sid Stranger")
        client = site_client(trust, people["viewer"].user)
        page = client.get("/staff/roles/check-access/", {"url": "/", "person": stranger.pk})
        text = page.content.decode()
        assert "Choose one of this site’s staff." in text
        assert "Sid Stranger" not in text

    def test_the_api(self, site_client, trust, people):
        client = site_client(trust, people["viewer"].user)
        body = client.get(
            "/api/v1/access-check/",
            {"url": "/api/v1/roles/", "person": people["manager"].pk},
        ).json()
        assert body["answer"] == "may_open" and body["may_open"] is True
        assert body["permission"] is None
        body = client.get(
            "/api/v1/access-check/",
            {"url": "/staff/roles/new/", "person": people["reader"].pk},
        ).json()
        assert body["may_open"] is False
        assert (body["permission"], body["level_needed"], body["level_held"]) == (
            USER_DETAILS,
            "administer",
            "off",
        )
        assert body["permission_label"] == "User Details: Manage All Users"

    def test_the_api_refuses_bad_input(self, site_client, trust, people):
        stranger = person(another_trust())
        client = site_client(trust, people["viewer"].user)
        for params, field in (
            ({"person": people["reader"].pk}, "url"),
            ({"url": "/"}, "person"),
            ({"url": "/", "person": stranger.pk}, "person"),
            ({"url": "/", "person": "abc"}, "person"),
        ):
            response = client.get("/api/v1/access-check/", params)
            assert response.status_code == 400
            assert field in response.json()["error"]["fields"]

    def test_the_api_needs_view(self, site_client, trust, people):
        response = site_client(trust, people["reader"].user).get(
            "/api/v1/access-check/", {"url": "/", "person": people["reader"].pk}
        )
        assert response.status_code == 403


class TestHop:
    """A hop's rights inside the school are the group role's in-school set, as edited."""

    def test_a_hop_uses_the_edited_in_school_set(self, db):
        world = World()
        role = roles_ensure_defaults(site=world.trust)["Trust Administrator"]
        actor = Actor(user=world.user, site=world.trust)
        inside = world.hop_in()
        assert inside.get("/staff/roles/").status_code == 200
        assert inside.get("/api/v1/access-check/", {"url": "/"}).status_code == 400

        role_grants_set(role=role, in_school={INSTITUTION_DETAILS: "administer"}, actor=actor)
        # The next request inside the school: the hop goes on, without the permission.
        assert inside.get("/staff/").status_code == 200
        assert inside.get("/staff/roles/").status_code == 403
        assert inside.get("/api/v1/access-check/", {"url": "/"}).status_code == 403

        role_grants_set(
            role=role,
            in_school={INSTITUTION_DETAILS: "administer", USER_DETAILS: "view"},
            actor=actor,
        )
        assert inside.get("/staff/roles/").status_code == 200
        assert inside.get("/staff/roles/new/").status_code == 403
