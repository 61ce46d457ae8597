"""Associations of group staff: the effective set, the services that change them (with the
cluster rule) and the page that manages them."""

import pytest
from django.core.exceptions import ValidationError

from accounts.audit import Actor
from accounts.models import (
    AssociatedCluster,
    AssociatedSchool,
    AuditAction,
    AuditEvent,
    StaffAssociation,
)
from accounts.staff.selectors import association_detail, effective_school_ids, effective_schools
from accounts.staff.services import (
    association_add_schools,
    association_remove_school,
    association_replace,
    association_set_all,
    association_set_clusters,
)
from tests.accounts.factories import (
    add_school,
    another_trust,
    associate,
    closed_school,
    cluster_of,
    departed_school,
    person,
    staff_admin,
    staff_viewer,
)
from tests.factories import InstitutionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def schools(trust):
    names = {
        "ash": ("Ash Primary", "100001"),
        "beech": ("Beech Primary", "100002"),
        "cedar": ("Cedar Academy", "100003"),
        "damson": ("Damson High", "100004"),
    }
    return {key: add_school(trust, name=name, urn=urn) for key, (name, urn) in names.items()}


@pytest.fixture
def north(trust, schools):
    return cluster_of(trust, "North", schools["ash"], schools["beech"])


@pytest.fixture
def south(trust, schools):
    return cluster_of(trust, "South", schools["beech"], schools["cedar"])


@pytest.fixture
def sam(trust):
    return person(trust, name="Sam Smith", email="sam@oak.test", job_title="Data analyst")


@pytest.fixture
def admin(trust):
    return staff_admin(trust, name="Ada Admin", email="ada@oak.test")


@pytest.fixture
def foreign(db):
    """Another trust, with a school and a cluster of its own."""
    other = another_trust()
    school = add_school(other, name="Elsewhere Primary", urn="200001")
    return {"group": other, "school": school, "cluster": cluster_of(other, "Faraway", school)}


def actor_of(profile) -> Actor:
    return Actor(user=profile.user, site=profile.site, ip_address="192.0.2.7")


def urns(schools) -> set[str]:
    return {school.urn for school in schools}


def state(profile) -> tuple:
    """Everything about ``profile``'s associations, to compare before and after."""
    association = StaffAssociation.objects.filter(profile=profile).first()
    return (
        association.all_schools if association else None,
        set(
            AssociatedSchool.objects.filter(association__profile=profile).values_list(
                "school_id", flat=True
            )
        ),
        set(
            AssociatedCluster.objects.filter(association__profile=profile).values_list(
                "cluster_id", flat=True
            )
        ),
        AuditEvent.objects.count(),
    )


# --- The effective set -----------------------------------------------------------------------


class TestEffectiveSchools:
    def test_none_without_associations(self, trust, schools, sam):
        assert effective_school_ids(group=trust, profile=sam) == set()
        associate(sam)
        assert effective_school_ids(group=trust, profile=sam) == set()

    def test_all_is_every_current_school(self, trust, schools, sam):
        closed = closed_school(trust, name="Closed Primary", urn="100009")
        departed = departed_school(trust, name="Gone Primary", urn="100010")
        associate(sam, all_schools=True, schools=[closed, departed])
        assert urns(effective_schools(group=trust, profile=sam)) == {
            "100001",
            "100002",
            "100003",
            "100004",
        }

    def test_chosen_schools_and_the_schools_of_chosen_clusters(
        self, trust, schools, north, south, sam
    ):
        associate(sam, schools=[schools["damson"]], clusters=[north])
        assert urns(effective_schools(group=trust, profile=sam)) == {
            "100001",
            "100002",
            "100004",
        }
        associate(sam, clusters=[south])
        assert urns(effective_schools(group=trust, profile=sam)) == {
            "100001",
            "100002",
            "100003",
            "100004",
        }

    def test_a_school_both_chosen_and_in_a_cluster_counts_once(self, trust, schools, north, sam):
        associate(sam, schools=[schools["ash"]], clusters=[north])
        assert effective_schools(group=trust, profile=sam).count() == 2

    def test_closed_or_departed_schools_are_left_out(self, trust, schools, sam):
        closed = closed_school(trust, name="Closed Primary", urn="100009")
        departed = departed_school(trust, name="Gone Primary", urn="100010")
        old = cluster_of(trust, "Old", closed, departed, schools["cedar"])
        associate(sam, schools=[closed, departed, schools["ash"]], clusters=[old])
        assert urns(effective_schools(group=trust, profile=sam)) == {"100001", "100003"}

    def test_never_another_groups_schools(self, trust, schools, sam, foreign):
        # Even a (corrupt) link to another group's school or cluster reaches nothing there.
        association = associate(sam, schools=[schools["ash"]])
        AssociatedSchool.objects.create(
            site=trust, association=association, school=foreign["school"]
        )
        AssociatedCluster.objects.create(
            site=trust, association=association, cluster=foreign["cluster"]
        )
        assert urns(effective_schools(group=trust, profile=sam)) == {"100001"}

    def test_a_profile_of_another_site_has_none_here(self, trust, schools, foreign):
        elsewhere = person(foreign["group"])
        associate(elsewhere, all_schools=True)
        assert effective_school_ids(group=trust, profile=elsewhere) == set()

    def test_is_a_queryset_to_filter(self, trust, schools, north, sam):
        associate(sam, clusters=[north])
        found = effective_schools(group=trust, profile=sam)
        assert found.filter(pk=schools["ash"].pk).exists()
        assert not found.filter(pk=schools["damson"].pk).exists()

    def test_one_query(self, trust, schools, north, sam, django_assert_num_queries):
        associate(sam, schools=[schools["damson"]], clusters=[north])
        with django_assert_num_queries(1):
            effective_school_ids(group=trust, profile=sam)


class TestAssociationDetail:
    def test_lines_say_how_each_school_comes(self, trust, schools, north, south, sam):
        associate(sam, schools=[schools["ash"], schools["damson"]], clusters=[north, south])
        detail = association_detail(group=trust, profile=sam)
        lines = {line.school.name: line for line in detail.schools}
        assert list(lines) == ["Ash Primary", "Beech Primary", "Cedar Academy", "Damson High"]
        assert lines["Ash Primary"].chosen and not lines["Ash Primary"].removable
        assert [c.name for c in lines["Ash Primary"].via] == ["North"]
        assert [c.name for c in lines["Beech Primary"].via] == ["North", "South"]
        assert not lines["Beech Primary"].chosen
        assert lines["Damson High"].removable
        assert detail.effective_count == 4
        assert detail.summary.text == "2 schools, 2 clusters"


# --- Services --------------------------------------------------------------------------------


class TestSetAll:
    def test_turns_on_and_off_with_an_audit_event(self, trust, schools, sam, admin):
        assert association_set_all(profile=sam, all_schools=True, actor=actor_of(admin))
        assert StaffAssociation.objects.get(profile=sam).all_schools
        event = AuditEvent.objects.get(action=AuditAction.ASSOCIATION_CHANGED)
        assert (event.site, event.actor, event.target) == (trust, admin.user, "sam@oak.test")
        assert event.detail["all_schools"] == {"from": False, "to": True}
        assert event.ip_address == "192.0.2.7"
        assert association_set_all(profile=sam, all_schools=False, actor=actor_of(admin))
        assert not StaffAssociation.objects.get(profile=sam).all_schools

    def test_no_change_no_event(self, trust, sam, admin):
        assert not association_set_all(profile=sam, all_schools=False, actor=actor_of(admin))
        assert not AuditEvent.objects.exists()

    def test_only_on_a_group_site(self, admin):
        school = InstitutionFactory()
        with pytest.raises(ValidationError):
            association_set_all(profile=person(school), all_schools=True, actor=actor_of(admin))
        assert not StaffAssociation.objects.exists()


class TestAddSchools:
    def test_adds_the_new_ones(self, trust, schools, sam, admin):
        associate(sam, schools=[schools["ash"]])
        added = association_add_schools(
            profile=sam, schools=[schools["ash"], schools["cedar"]], actor=actor_of(admin)
        )
        assert [school.name for school in added] == ["Cedar Academy"]
        assert state(sam)[1] == {schools["ash"].pk, schools["cedar"].pk}
        event = AuditEvent.objects.get()
        assert event.detail["schools_added"] == [{"urn": "100003", "name": "Cedar Academy"}]
        assert event.actor == admin.user and event.site == trust

    def test_another_groups_school_changes_nothing(self, trust, schools, sam, admin, foreign):
        before = state(sam)
        with pytest.raises(ValidationError) as error:
            association_add_schools(
                profile=sam, schools=[schools["ash"], foreign["school"]], actor=actor_of(admin)
            )
        assert "Elsewhere" not in str(error.value)
        assert state(sam) == before

    def test_a_closed_school_of_the_group_changes_nothing(self, trust, schools, sam, admin):
        closed = closed_school(trust, name="Closed Primary", urn="100009")
        before = state(sam)
        with pytest.raises(ValidationError):
            association_add_schools(profile=sam, schools=[closed], actor=actor_of(admin))
        assert state(sam) == before


class TestRemoveSchool:
    def test_removes_a_chosen_school(self, trust, schools, sam, admin):
        associate(sam, schools=[schools["ash"], schools["beech"]])
        association_remove_school(profile=sam, school=schools["ash"], actor=actor_of(admin))
        assert state(sam)[1] == {schools["beech"].pk}
        event = AuditEvent.objects.get()
        assert event.detail["schools_removed"] == [{"urn": "100001", "name": "Ash Primary"}]

    def test_refused_while_a_cluster_brings_it(self, trust, schools, north, sam, admin):
        associate(sam, schools=[schools["ash"]], clusters=[north])
        before = state(sam)
        with pytest.raises(ValidationError) as error:
            association_remove_school(profile=sam, school=schools["ash"], actor=actor_of(admin))
        assert error.value.messages == [
            "Ash Primary is associated through the cluster “North”. Remove the cluster to "
            "remove this school."
        ]
        assert state(sam) == before

    def test_every_cluster_that_brings_it_is_named(self, trust, schools, north, south, sam, admin):
        associate(sam, schools=[schools["beech"]], clusters=[north, south])
        with pytest.raises(ValidationError) as error:
            association_remove_school(profile=sam, school=schools["beech"], actor=actor_of(admin))
        assert error.value.messages == [
            "Beech Primary is associated through the clusters “North” and “South”. Remove "
            "those clusters to remove this school."
        ]

    def test_removing_the_cluster_first_then_the_school_works(
        self, trust, schools, north, sam, admin
    ):
        associate(sam, schools=[schools["ash"]], clusters=[north])
        association_set_clusters(profile=sam, clusters=[], actor=actor_of(admin))
        association_remove_school(profile=sam, school=schools["ash"], actor=actor_of(admin))
        assert state(sam)[1:3] == (set(), set())
        assert effective_school_ids(group=trust, profile=sam) == set()

    def test_a_school_only_through_a_cluster_names_the_cluster(
        self, trust, schools, north, sam, admin
    ):
        associate(sam, clusters=[north])
        with pytest.raises(ValidationError, match="through the cluster “North”"):
            association_remove_school(profile=sam, school=schools["beech"], actor=actor_of(admin))

    def test_a_school_not_chosen(self, trust, schools, sam, admin):
        associate(sam, schools=[schools["ash"]])
        with pytest.raises(ValidationError, match="not one of the schools chosen"):
            association_remove_school(profile=sam, school=schools["cedar"], actor=actor_of(admin))
        assert not AuditEvent.objects.exists()

    def test_another_groups_school_is_refused_without_its_name(
        self, trust, schools, sam, admin, foreign
    ):
        association = associate(sam, schools=[schools["ash"]])
        AssociatedSchool.objects.create(
            site=trust, association=association, school=foreign["school"]
        )
        before = state(sam)
        with pytest.raises(ValidationError) as error:
            association_remove_school(profile=sam, school=foreign["school"], actor=actor_of(admin))
        assert "Elsewhere" not in str(error.value)
        assert state(sam) == before


class TestSetClusters:
    def test_adds_and_removes(self, trust, schools, north, south, sam, admin):
        associate(sam, clusters=[north])
        change = association_set_clusters(profile=sam, clusters=[south], actor=actor_of(admin))
        assert [c.name for c in change.clusters_added] == ["South"]
        assert [c.name for c in change.clusters_removed] == ["North"]
        assert state(sam)[2] == {south.pk}
        event = AuditEvent.objects.get()
        assert event.detail["clusters_added"] == [{"id": south.pk, "name": "South"}]
        assert event.detail["clusters_removed"] == [{"id": north.pk, "name": "North"}]

    def test_another_groups_cluster_changes_nothing(self, trust, north, sam, admin, foreign):
        associate(sam, clusters=[north])
        before = state(sam)
        with pytest.raises(ValidationError) as error:
            association_set_clusters(
                profile=sam, clusters=[foreign["cluster"]], actor=actor_of(admin)
            )
        assert "Faraway" not in str(error.value)
        assert state(sam) == before


class TestReplace:
    def test_all_at_once_in_one_event(self, trust, schools, north, sam, admin):
        associate(sam, schools=[schools["damson"]])
        change = association_replace(
            profile=sam,
            all_schools=True,
            schools=[schools["cedar"]],
            clusters=[north],
            actor=actor_of(admin),
        )
        assert change.all_schools == (False, True)
        assert state(sam)[:3] == (True, {schools["cedar"].pk}, {north.pk})
        event = AuditEvent.objects.get()
        assert set(event.detail) == {
            "person",
            "all_schools",
            "schools_added",
            "schools_removed",
            "clusters_added",
        }

    def test_leaving_out_a_school_a_kept_cluster_brings_is_refused(
        self, trust, schools, north, sam, admin
    ):
        associate(sam, schools=[schools["ash"], schools["damson"]], clusters=[north])
        before = state(sam)
        with pytest.raises(ValidationError) as error:
            association_replace(
                profile=sam, all_schools=True, schools=[], clusters=[north], actor=actor_of(admin)
            )
        assert error.value.message_dict == {
            "schools": [
                "Ash Primary is associated through the cluster “North”. Remove the cluster "
                "to remove this school."
            ]
        }
        assert state(sam) == before

    def test_dropping_the_cluster_and_the_school_together_works(
        self, trust, schools, north, sam, admin
    ):
        associate(sam, schools=[schools["ash"]], clusters=[north])
        association_replace(
            profile=sam, all_schools=False, schools=[], clusters=[], actor=actor_of(admin)
        )
        assert state(sam)[:3] == (False, set(), set())


# --- The page --------------------------------------------------------------------------------


def page_url(profile) -> str:
    return f"/staff/{profile.pk}/associations/"


class TestPageAccess:
    def test_anonymous_visitors_are_sent_to_sign_in(self, site_client, trust, sam):
        response = site_client(trust).get(page_url(sam))
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/sign-in/")

    def test_staff_of_another_site_get_not_found(self, site_client, trust, sam, foreign):
        outsider = staff_admin(foreign["group"])
        assert site_client(trust, outsider.user).get(page_url(sam)).status_code == 404

    @pytest.mark.parametrize("who", [person, staff_viewer])
    def test_staff_without_administer_are_refused(self, site_client, trust, sam, who):
        response = site_client(trust, who(trust).user).get(page_url(sam))
        assert response.status_code == 403
        assert "User Details: Manage All Users" in response.content.decode()
        response = site_client(trust, who(trust).user).post(
            f"{page_url(sam)}all/", {"all_schools": "yes"}
        )
        assert response.status_code == 403
        assert not StaffAssociation.objects.exists()

    def test_administrators_see_it(self, site_client, trust, schools, sam, admin):
        response = site_client(trust, admin.user).get(page_url(sam))
        assert response.status_code == 200
        assert "Associations" in response.content.decode()

    def test_another_sites_profile_is_not_found(self, site_client, trust, admin, foreign):
        elsewhere = person(foreign["group"])
        client = site_client(trust, admin.user)
        assert client.get(page_url(elsewhere)).status_code == 404
        response = client.post(f"{page_url(elsewhere)}all/", {"all_schools": "yes"})
        assert response.status_code == 404
        assert not StaffAssociation.objects.exists()

    def test_a_school_site_has_no_associations(self, site_client):
        school = InstitutionFactory()
        head = staff_admin(school)
        assert site_client(school, head.user).get(page_url(head)).status_code == 404


class TestPage:
    def test_shows_chosen_and_via_cluster_schools(
        self, site_client, trust, schools, north, sam, admin
    ):
        associate(sam, schools=[schools["damson"], schools["ash"]], clusters=[north])
        html = site_client(trust, admin.user).get(page_url(sam)).content.decode()
        remove = f"{page_url(sam)}schools/{{}}/remove/"
        assert remove.format("100004") in html  # Damson: chosen only, removable
        assert remove.format("100001") not in html  # Ash: chosen, also via North
        assert remove.format("100002") not in html  # Beech: via North only
        assert "Comes with the cluster “North”" in html
        assert "In effect now: <strong>3</strong> schools" in html

    def test_remove_through_a_cluster_is_refused_with_the_cluster_named(
        self, site_client, trust, schools, north, sam, admin
    ):
        associate(sam, schools=[schools["ash"]], clusters=[north])
        before = state(sam)
        client = site_client(trust, admin.user)
        response = client.post(f"{page_url(sam)}schools/100001/remove/")
        assert response.status_code == 200
        html = response.content.decode()
        assert "There is a problem" in html
        assert (
            "Ash Primary is associated through the cluster “North”. Remove the cluster to "
            "remove this school." in html
        )
        assert state(sam) == before

        response = client.post(f"{page_url(sam)}clusters/", {"clusters": []}, follow=True)
        assert "Clusters saved: removed “North”." in response.content.decode()
        response = client.post(f"{page_url(sam)}schools/100001/remove/", follow=True)
        assert "Ash Primary removed from Sam Smith’s schools." in response.content.decode()
        assert state(sam)[1:3] == (set(), set())
        assert AuditEvent.objects.filter(action=AuditAction.ASSOCIATION_CHANGED).count() == 2

    def test_add_schools(self, site_client, trust, schools, sam, admin):
        client = site_client(trust, admin.user)
        response = client.post(
            f"{page_url(sam)}schools/", {"schools": ["100001", "100003"]}, follow=True
        )
        assert "2 schools added: Ash Primary, Cedar Academy." in response.content.decode()
        assert state(sam)[1] == {schools["ash"].pk, schools["cedar"].pk}
        event = AuditEvent.objects.get()
        assert (event.actor, event.site) == (admin.user, trust)

    def test_adding_another_groups_school_changes_nothing(
        self, site_client, trust, schools, sam, admin, foreign
    ):
        before = state(sam)
        response = site_client(trust, admin.user).post(
            f"{page_url(sam)}schools/", {"schools": ["100001", "200001"]}
        )
        html = response.content.decode()
        assert "Choose from Oak Ridge Trust’s current schools" in html
        assert "Elsewhere" not in html
        assert state(sam) == before

    def test_removing_another_groups_school_is_not_found(
        self, site_client, trust, schools, sam, admin, foreign
    ):
        association = associate(sam)
        AssociatedSchool.objects.create(
            site=trust, association=association, school=foreign["school"]
        )
        before = state(sam)
        response = site_client(trust, admin.user).post(f"{page_url(sam)}schools/200001/remove/")
        assert response.status_code == 404
        assert state(sam) == before

    def test_choosing_another_groups_cluster_changes_nothing(
        self, site_client, trust, north, sam, admin, foreign
    ):
        before = state(sam)
        response = site_client(trust, admin.user).post(
            f"{page_url(sam)}clusters/", {"clusters": [north.pk, foreign["cluster"].pk]}
        )
        html = response.content.decode()
        assert "Choose from Oak Ridge Trust’s clusters" in html
        assert "Faraway" not in html
        assert state(sam) == before

    def test_all_institutions(self, site_client, trust, schools, sam, admin):
        response = site_client(trust, admin.user).post(
            f"{page_url(sam)}all/", {"all_schools": "yes"}, follow=True
        )
        html = response.content.decode()
        assert "Sam Smith is now associated with all of Oak Ridge Trust’s schools" in html
        assert "In effect now: <strong>4</strong> schools" in html
        event = AuditEvent.objects.get()
        assert (event.actor, event.site, event.action) == (
            admin.user,
            trust,
            AuditAction.ASSOCIATION_CHANGED,
        )

    def test_search_narrows_the_schools_to_add(self, site_client, trust, schools, sam, admin):
        associate(sam, schools=[schools["beech"]])
        html = site_client(trust, admin.user).get(page_url(sam), {"q": "ash"}).content.decode()
        assert 'id="add-100001"' in html
        assert 'id="add-100003"' not in html
        html = site_client(trust, admin.user).get(page_url(sam)).content.decode()
        assert 'id="add-100002"' not in html  # already chosen
        assert 'id="add-100004"' in html
