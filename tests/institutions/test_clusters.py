"""Clusters: the services that change them and the pages that show and manage them."""

import datetime

import pytest
from django.core.exceptions import ValidationError

from accounts.audit import Actor
from institutions.models import Cluster, ClusterMembership, GroupMembership, Status
from institutions.selectors import cluster_for_id, cluster_list
from institutions.services import (
    cluster_create,
    cluster_delete,
    cluster_rename,
    cluster_set_schools,
)
from tests.factories import StaffProfileFactory, TrustFactory
from tests.institutions.factories import (
    ClusterFactory,
    add_school,
    group_admin,
    group_staff,
    outsider,
    put_in_cluster,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def schools(trust):
    return [
        add_school(trust, name=name, urn=urn)
        for name, urn in (
            ("Ash Primary", "100001"),
            ("Beech Primary", "100002"),
            ("Cedar Academy", "100003"),
            ("Damson High", "100004"),
        )
    ]


@pytest.fixture
def north(trust, schools):
    cluster = ClusterFactory(group=trust, name="North")
    put_in_cluster(cluster, schools[0], schools[1])
    return cluster


@pytest.fixture
def foreign(db):
    """Another trust with a school and a cluster of its own."""
    other = TrustFactory(name="Elsewhere Trust")
    school = add_school(other, name="Elsewhere Primary", urn="200001")
    cluster = ClusterFactory(group=other, name="Elsewhere cluster")
    put_in_cluster(cluster, school)
    return {"group": other, "school": school, "cluster": cluster}


def links(cluster) -> set[str]:
    return set(
        ClusterMembership.objects.filter(cluster=cluster).values_list("school__urn", flat=True)
    )


# --- Services ---------------------------------------------------------------------------------


class TestClusterServices:
    def test_create_trims_the_name(self, trust, trust_staff):
        cluster = cluster_create(
            group=trust, name="  North   East ", actor=Actor(user=trust_staff, site=None)
        )
        assert cluster.name == "North East"
        assert cluster.group == trust

    @pytest.mark.parametrize(
        ("name", "message"),
        [
            ("", "Enter a name for the cluster."),
            ("   ", "Enter a name for the cluster."),
            ("x" * 101, "Cluster names must be 100 characters or fewer."),
            ("north", "There is already a cluster called “north”. Choose another name."),
            ("NORTH", "There is already a cluster called “NORTH”. Choose another name."),
        ],
    )
    def test_create_refuses_bad_names(self, trust, trust_staff, north, name, message):
        with pytest.raises(ValidationError) as error:
            cluster_create(group=trust, name=name, actor=Actor(user=trust_staff, site=None))
        assert error.value.message_dict == {"name": [message]}
        assert Cluster.objects.filter(group=trust).count() == 1

    def test_the_same_name_in_another_group_is_fine(self, trust, trust_staff, north, foreign):
        cluster = cluster_create(
            group=foreign["group"], name="North", actor=Actor(user=trust_staff, site=None)
        )
        assert cluster.group == foreign["group"]

    def test_a_100_character_name_is_fine(self, trust, trust_staff):
        assert (
            len(
                cluster_create(
                    group=trust, name="x" * 100, actor=Actor(user=trust_staff, site=None)
                ).name
            )
            == 100
        )

    def test_only_a_group_has_clusters(self, schools, trust_staff):
        with pytest.raises(ValidationError):
            cluster_create(group=schools[0], name="Nope", actor=Actor(user=trust_staff, site=None))

    def test_rename(self, trust, trust_staff, north):
        cluster_rename(cluster=north, name="North West", actor=Actor(user=trust_staff, site=None))
        north.refresh_from_db()
        assert north.name == "North West"

    def test_rename_to_a_different_case_of_its_own_name(self, trust, trust_staff, north):
        cluster_rename(cluster=north, name="NORTH", actor=Actor(user=trust_staff, site=None))
        north.refresh_from_db()
        assert north.name == "NORTH"

    def test_rename_refuses_another_clusters_name(self, trust, trust_staff, north):
        ClusterFactory(group=trust, name="South")
        with pytest.raises(ValidationError) as error:
            cluster_rename(cluster=north, name="south", actor=Actor(user=trust_staff, site=None))
        assert "already a cluster called" in error.value.message_dict["name"][0]
        north.refresh_from_db()
        assert north.name == "North"

    def test_delete_leaves_the_schools(self, trust, trust_staff, north, schools):
        cluster_delete(cluster=north, actor=Actor(user=trust_staff, site=None))
        assert not Cluster.objects.filter(pk=north.pk).exists()
        assert not ClusterMembership.objects.filter(cluster_id=north.pk).exists()
        assert GroupMembership.objects.filter(group=trust).count() == 4

    def test_set_schools_adds_and_removes(self, trust, trust_staff, north, schools):
        change = cluster_set_schools(
            cluster=north,
            schools=[schools[1], schools[2], schools[3]],
            actor=Actor(user=trust_staff, site=None),
        )
        assert (change.added, change.removed) == (2, 1)
        assert links(north) == {"100002", "100003", "100004"}
        assert set(
            ClusterMembership.objects.filter(cluster=north).values_list("group_id", flat=True)
        ) == {trust.pk}

    def test_set_schools_again_changes_nothing(self, trust, trust_staff, north, schools):
        change = cluster_set_schools(
            cluster=north,
            schools=[schools[0], schools[1]],
            actor=Actor(user=trust_staff, site=None),
        )
        assert (change.added, change.removed) == (0, 0)

    def test_set_schools_refuses_another_groups_school_and_changes_nothing(
        self, trust, trust_staff, north, schools, foreign
    ):
        with pytest.raises(ValidationError) as error:
            cluster_set_schools(
                cluster=north,
                schools=[schools[2], foreign["school"]],
                actor=Actor(user=trust_staff, site=None),
            )
        assert "Only this group’s own schools" in error.value.message_dict["schools"][0]
        assert links(north) == {"100001", "100002"}

    def test_set_schools_refuses_a_closed_school(self, trust, trust_staff, north):
        closed = add_school(trust, name="Closed Primary", status=Status.CLOSED)
        with pytest.raises(ValidationError):
            cluster_set_schools(
                cluster=north, schools=[closed], actor=Actor(user=trust_staff, site=None)
            )
        assert links(north) == {"100001", "100002"}

    def test_links_to_a_school_that_left_are_kept_but_not_counted(
        self, trust, trust_staff, north, schools
    ):
        GroupMembership.objects.filter(school=schools[0]).update(left_on=datetime.date(2025, 8, 31))
        assert cluster_list(group=trust).get(pk=north.pk).school_count == 1
        change = cluster_set_schools(
            cluster=north, schools=[], actor=Actor(user=trust_staff, site=None)
        )
        assert (change.added, change.removed) == (0, 1)
        assert links(north) == {"100001"}


class TestClusterSelectors:
    def test_cluster_for_id_is_the_same_404_for_missing_and_foreign(self, trust, foreign):
        from django.http import Http404

        for cluster_id in (foreign["cluster"].pk, 999999, "abc", None):
            with pytest.raises(Http404):
                cluster_for_id(group=trust, cluster_id=cluster_id)

    def test_cluster_list_counts(self, trust, north, foreign):
        ClusterFactory(group=trust, name="empty")
        assert [(c.name, c.school_count) for c in cluster_list(group=trust)] == [
            ("empty", 0),
            ("North", 2),
        ]


# --- Pages -----------------------------------------------------------------------------------


LIST = "/institutions/clusters/"
NEW = "/institutions/clusters/new/"


def page(cluster, action: str = "") -> str:
    return f"/institutions/clusters/{cluster.pk}/{action + '/' if action else ''}"


class TestClusterListPage:
    def test_anonymous_goes_to_sign_in(self, site_client, trust, north):
        response = site_client(trust).get(LIST)
        assert response.status_code == 302
        assert "/accounts/sign-in/" in response["Location"]

    def test_staff_of_another_trust_get_not_found(self, site_client, trust, north):
        response = site_client(trust, outsider()).get(LIST)
        assert response.status_code == 404
        assert "North" not in response.content.decode()

    def test_staff_without_the_permission_see_the_list_only(self, site_client, trust, north):
        html = site_client(trust, group_staff(trust)).get(LIST).content.decode()
        assert f'<a href="{page(north)}">North</a>' in html
        assert '<td class="mm-table__cell--numeric">2</td>' in html
        assert "Create a cluster" not in html

    def test_administrators_can_create(self, site_client, trust, north, foreign):
        html = site_client(trust, group_admin(trust)).get(LIST).content.decode()
        assert f'href="{NEW}">Create a cluster</a>' in html
        assert "Elsewhere" not in html

    def test_a_school_site_has_no_such_page(self, site_client, schools):
        head = StaffProfileFactory(site=schools[0]).user
        assert site_client(schools[0], head).get(LIST).status_code == 404

    def test_menu_marks_clusters_as_the_current_page(self, site_client, trust, north):
        html = site_client(trust, group_staff(trust)).get(LIST).content.decode()
        assert 'href="/institutions/clusters/" aria-current="page">Clusters' in html
        assert 'href="/institutions/" aria-current="page">Browse' not in html


class TestCreate:
    def test_anonymous(self, site_client, trust):
        response = site_client(trust).post(NEW, {"name": "North"})
        assert response.status_code == 302
        assert "/accounts/sign-in/" in response["Location"]
        assert not Cluster.objects.exists()

    def test_staff_of_another_trust(self, site_client, trust):
        assert site_client(trust, outsider()).post(NEW, {"name": "North"}).status_code == 404
        assert not Cluster.objects.filter(group=trust).exists()

    def test_staff_without_the_permission_are_forbidden(self, site_client, trust):
        client = site_client(trust, group_staff(trust))
        assert client.get(NEW).status_code == 403
        response = client.post(NEW, {"name": "North"})
        assert response.status_code == 403
        assert "Institution: Administer Institution Details" in response.content.decode()
        assert not Cluster.objects.exists()

    def test_administrators_create_and_are_told(self, site_client, trust):
        client = site_client(trust, group_admin(trust))
        assert client.get(NEW).status_code == 200
        response = client.post(NEW, {"name": " North "}, follow=True)
        cluster = Cluster.objects.get(group=trust)
        assert cluster.name == "North"
        assert response.redirect_chain[-1][0] == page(cluster)
        assert "Cluster “North” created." in response.content.decode()

    def test_a_taken_name_is_explained(self, site_client, trust, north):
        response = site_client(trust, group_admin(trust)).post(NEW, {"name": "NORTH"})
        assert response.status_code == 200
        html = response.content.decode()
        assert "There is already a cluster called “NORTH”. Choose another name." in html
        assert 'href="#cluster-name"' in html
        assert Cluster.objects.filter(group=trust).count() == 1

    def test_an_empty_name_is_explained(self, site_client, trust):
        html = site_client(trust, group_admin(trust)).post(NEW, {"name": ""}).content.decode()
        assert "Enter a name for the cluster." in html


class TestDetailPage:
    def test_anonymous(self, site_client, trust, north):
        assert site_client(trust).get(page(north)).status_code == 302

    def test_staff_of_another_trust(self, site_client, trust, north):
        assert site_client(trust, outsider()).get(page(north)).status_code == 404

    def test_staff_without_the_permission_see_its_schools(self, site_client, trust, north):
        html = site_client(trust, group_staff(trust)).get(page(north)).content.decode()
        assert '<a href="/institutions/100001/">Ash Primary</a>' in html
        assert '<a href="/institutions/100002/">Beech Primary</a>' in html
        assert "Cedar Academy" not in html
        assert 'name="schools"' not in html
        assert "Delete cluster" not in html
        assert f'href="/institutions/?cluster={north.pk}"' in html

    def test_administrators_get_the_forms_with_only_the_groups_schools(
        self, site_client, trust, north, foreign
    ):
        html = site_client(trust, group_admin(trust)).get(page(north)).content.decode()
        assert 'value="100001" id="school-100001" checked' in html
        assert 'value="100003" id="school-100003">' in html
        assert "200001" not in html and "Elsewhere" not in html
        assert f'action="{page(north, "rename")}"' in html
        assert f'href="{page(north, "delete")}"' in html
        assert "<legend" in html

    def test_another_groups_cluster_is_not_found_like_a_missing_one(
        self, site_client, trust, north, foreign
    ):
        client = site_client(trust, group_admin(trust))
        for path in (
            page(foreign["cluster"]),
            page(foreign["cluster"], "delete"),
            "/institutions/clusters/999999/",
        ):
            response = client.get(path)
            assert response.status_code == 404, path
            assert "Elsewhere" not in response.content.decode()


class TestRename:
    def test_staff_without_the_permission_are_forbidden(self, site_client, trust, north):
        response = site_client(trust, group_staff(trust)).post(
            page(north, "rename"), {"name": "South"}
        )
        assert response.status_code == 403
        north.refresh_from_db()
        assert north.name == "North"

    def test_administrators_rename(self, site_client, trust, north):
        response = site_client(trust, group_admin(trust)).post(
            page(north, "rename"), {"name": "North West"}, follow=True
        )
        assert "Cluster “North” renamed to “North West”." in response.content.decode()
        north.refresh_from_db()
        assert north.name == "North West"

    def test_a_taken_name_is_explained_on_the_page(self, site_client, trust, north):
        ClusterFactory(group=trust, name="South")
        response = site_client(trust, group_admin(trust)).post(
            page(north, "rename"), {"name": "south"}
        )
        html = response.content.decode()
        assert "There is already a cluster called “south”." in html
        assert '<h1 class="govuk-heading-l">North</h1>' in html
        north.refresh_from_db()
        assert north.name == "North"

    def test_another_groups_cluster(self, site_client, trust, foreign):
        response = site_client(trust, group_admin(trust)).post(
            page(foreign["cluster"], "rename"), {"name": "Mine now"}
        )
        assert response.status_code == 404
        foreign["cluster"].refresh_from_db()
        assert foreign["cluster"].name == "Elsewhere cluster"


class TestChooseSchools:
    def test_staff_without_the_permission_are_forbidden(self, site_client, trust, north):
        response = site_client(trust, group_staff(trust)).post(
            page(north, "schools"), {"schools": ["100003"]}
        )
        assert response.status_code == 403
        assert links(north) == {"100001", "100002"}

    def test_administrators_choose_and_are_told(self, site_client, trust, north, schools):
        response = site_client(trust, group_admin(trust)).post(
            page(north, "schools"), {"schools": ["100002", "100003", "100004"]}, follow=True
        )
        assert "2 schools added, 1 removed." in response.content.decode()
        assert links(north) == {"100002", "100003", "100004"}

    def test_unticking_every_school_empties_it(self, site_client, trust, north):
        response = site_client(trust, group_admin(trust)).post(page(north, "schools"), {})
        assert response.status_code == 302
        assert links(north) == set()

    def test_a_nul_is_refused_before_the_page_and_nothing_changes(
        self, site_client, trust, north, foreign
    ):
        """A NUL in any form field is refused for every view (matmis.client_input): a 400
        naming the field, before this page's own check could say anything."""
        response = site_client(trust, group_admin(trust)).post(
            page(north, "schools"), {"schools": ["\x00"]}
        )
        assert response.status_code == 400
        assert "“schools” holds a NUL character" in response.content.decode()
        assert links(north) == {"100001", "100002"}

    @pytest.mark.parametrize("posted", [["100003", "200001"], ["999999"], ["1 OR 1=1"]])
    def test_a_school_not_of_the_group_is_refused_and_nothing_changes(
        self, site_client, trust, north, foreign, posted
    ):
        response = site_client(trust, group_admin(trust)).post(
            page(north, "schools"), {"schools": posted}
        )
        assert response.status_code == 200
        html = response.content.decode()
        assert "Only this group’s own schools can be in its clusters. Nothing was changed." in html
        assert "Elsewhere Primary" not in html
        assert links(north) == {"100001", "100002"}

    def test_another_groups_cluster(self, site_client, trust, schools, foreign):
        response = site_client(trust, group_admin(trust)).post(
            page(foreign["cluster"], "schools"), {"schools": ["100001"]}
        )
        assert response.status_code == 404
        assert links(foreign["cluster"]) == {"200001"}


class TestDelete:
    def test_staff_without_the_permission_are_forbidden(self, site_client, trust, north):
        client = site_client(trust, group_staff(trust))
        assert client.get(page(north, "delete")).status_code == 403
        assert client.post(page(north, "delete")).status_code == 403
        assert Cluster.objects.filter(pk=north.pk).exists()

    def test_confirm_then_delete(self, site_client, trust, north):
        client = site_client(trust, group_admin(trust))
        html = client.get(page(north, "delete")).content.decode()
        assert "Delete “North”?" in html
        assert 'method="post"' in html
        assert Cluster.objects.filter(pk=north.pk).exists()  # a GET changes nothing
        response = client.post(page(north, "delete"), follow=True)
        assert response.redirect_chain[-1][0] == LIST
        assert "Cluster “North” deleted." in response.content.decode()
        assert not Cluster.objects.filter(pk=north.pk).exists()

    def test_another_groups_cluster(self, site_client, trust, foreign):
        response = site_client(trust, group_admin(trust)).post(page(foreign["cluster"], "delete"))
        assert response.status_code == 404
        assert Cluster.objects.filter(pk=foreign["cluster"].pk).exists()

    def test_a_school_site_has_no_such_page(self, site_client, schools):
        head = StaffProfileFactory(site=schools[0]).user
        assert site_client(schools[0], head).get(NEW).status_code == 404


@pytest.mark.parametrize("action", ["rename", "schools", "delete"])
def test_every_change_refuses_anonymous_visitors_and_other_trusts_staff(
    site_client, trust, north, action
):
    data = {"name": "Taken over", "schools": ["100003"]}
    anonymous = site_client(trust).post(page(north, action), data)
    assert anonymous.status_code == 302
    assert "/accounts/sign-in/" in anonymous["Location"]
    assert site_client(trust, outsider()).post(page(north, action), data).status_code == 404
    north.refresh_from_db()
    assert north.name == "North"
    assert links(north) == {"100001", "100002"}


def test_every_cluster_change_is_audited_at_the_group(trust, trust_staff, schools):
    from accounts.models import AuditAction, AuditEvent

    actor = Actor(user=trust_staff, site=trust, ip_address="203.0.113.9")
    cluster = cluster_create(group=trust, name="East", actor=actor)
    cluster_rename(cluster=cluster, name="East Coast", actor=actor)
    cluster_set_schools(cluster=cluster, schools=[schools[0]], actor=actor)
    cluster_set_schools(cluster=cluster, schools=[schools[0]], actor=actor)  # no change
    cluster_delete(cluster=cluster, actor=actor)
    events = AuditEvent.objects.filter(action=AuditAction.CLUSTER_CHANGED).order_by("id")
    assert [(e.site_id, e.actor_id, e.ip_address) for e in events] == [
        (trust.pk, trust_staff.pk, "203.0.113.9")
    ] * 4
    assert [e.detail for e in events] == [
        {"created": True},
        {"renamed_from": "East"},
        {"added": [schools[0].pk], "removed": []},
        {"deleted": True},
    ]
