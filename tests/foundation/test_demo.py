import datetime
import re

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import transaction
from django.db.models import Count, Sum

from accounts.models import StaffProfile, User
from analytics.models import PublishedFigures
from bench.register import DEMO_ESTABLISHMENTS
from institutions.models import GroupMembership, Institution
from institutions.selectors import current_schools
from matmis.tenancy import site_scope
from mis.ctf.reader import read_ctf
from mis.models import (
    AttendanceMark,
    AttendanceRollup,
    Exclusion,
    Pupil,
    PupilArrival,
    RollupState,
)
from portal.demo import DEMO_TRANSFER_PUPIL
from tests.conftest import SiteClient
from thirdparty.models import AppAuthorisation, DataAccessRequest

pytestmark = pytest.mark.django_db

# The demo gives each trust school up to 400 pupils; the tests make do with a few (0: no
# MIS records where a test does not look at them).
MIS_PUPILS = 6


def seed_demo(mis_pupils: int = 0) -> None:
    call_command("seed_demo", mis_pupils=mis_pupils)


def snapshot():
    return (
        sorted(Institution.objects.values_list("slug", "kind", "name", "urn", "updated_at")),
        sorted(
            GroupMembership.objects.values_list(
                "group__slug", "school__slug", "joined_on", "left_on"
            )
        ),
        sorted(User.objects.values_list("email", "is_staff")),
        sorted(StaffProfile.objects.values_list("user__email", "site__slug")),
        sorted(
            PublishedFigures.objects.values_list(
                "school__urn", "time_period", "overall_absence_rate", "suspension_rate"
            ),
            key=str,
        ),
        mis_snapshot(),
    )


def mis_snapshot():
    """Each trust school's MIS records (read in its own scope) and roll-ups."""
    trust = Institution.objects.get(slug="oak-ridge-trust")
    schools = {}
    for school in current_schools(group=trust):
        with transaction.atomic(), site_scope(school.pk):
            schools[school.slug] = (
                sorted(Pupil.objects.filter(site=school).values_list("id", "upn", "left_on")),
                sorted(
                    AttendanceMark.objects.filter(site=school).values_list(
                        "pupil_id", "date", "session", "code"
                    )
                ),
                sorted(Exclusion.objects.filter(site=school).values_list("id", "starts_on")),
            )
    rollups = sorted(
        AttendanceRollup.objects.values_list(
            "school__slug", "year_group", "disadvantaged", "sen_provision", "possible_sessions"
        )
    )
    return schools, rollups


def test_demo_seed_is_idempotent_and_deterministic(capsys):
    seed_demo(MIS_PUPILS)
    first = snapshot()
    seed_demo(MIS_PUPILS)
    assert snapshot() == first
    institutions, memberships, users, profiles, published, (mis, rollups) = first
    assert published
    assert Institution.objects.filter(kind="school").count() == DEMO_ESTABLISHMENTS
    assert {kind for _, kind, *_ in institutions} == {"school", "trust", "la"}
    assert ("head@oak-ridge-primary-school.test", "oak-ridge-primary-school") in profiles
    assert ("trust.admin@oak-ridge.test", "oak-ridge-trust") in profiles
    assert ("data.lead@northshire.test", "northshire") in profiles
    current = {(group, school) for group, school, _, left_on in memberships if left_on is None}
    assert ("oak-ridge-trust", "oak-ridge-primary-school") in current
    assert ("northshire", "oak-ridge-primary-school") in current
    assert ("support@matmis.test", True) in users
    assert "Password for every demo account" in capsys.readouterr().out
    assert len(mis) == 40 and all(pupils for pupils, _, _ in mis.values())
    assert rollups


def test_demo_groups_have_their_schools():
    seed_demo()
    trust = Institution.objects.get(slug="oak-ridge-trust")
    la = Institution.objects.get(slug="northshire")
    assert (trust.name, trust.group_code) == ("Oak Ridge Trust", "9001")
    assert la.name == "Northshire"
    assert current_schools(group=trust).count() == 40
    assert current_schools(group=la).count() == 300


def test_demo_schools_have_published_figures_for_two_years_and_england():
    seed_demo()
    trust = Institution.objects.get(slug="oak-ridge-trust")
    la = Institution.objects.get(slug="northshire")
    schools = [*current_schools(group=trust), *current_schools(group=la)]
    figures = PublishedFigures.objects.filter(school__in=schools)
    assert set(figures.values_list("time_period", flat=True)) == {"202324", "202425"}
    # Every school the releases cover (nurseries and colleges have no absence figures).
    assert figures.filter(time_period="202425").count() > 0.85 * len(schools)
    assert figures.filter(time_period="202425", sessions_possible__gt=0).count() > 0.8 * len(
        schools
    )
    assert PublishedFigures.objects.filter(school=None, time_period="202425").exists()


def test_demo_accounts_can_sign_in_where_they_work(site_client):
    from portal.demo import DEMO_PASSWORD

    seed_demo()
    for slug, email in (
        ("oak-ridge-trust", "ceo@oak-ridge.test"),
        ("northshire", "data.lead@northshire.test"),
        ("oak-ridge-primary-school", "head@oak-ridge-primary-school.test"),
    ):
        client = site_client(Institution.objects.get(slug=slug))
        response = client.post("/accounts/sign-in/", {"username": email, "password": DEMO_PASSWORD})
        assert response.status_code == 302, slug
        assert client.get("/").status_code == 200, slug


def test_demo_staff_hold_their_roles():
    from accounts.permissions import DATA_SHARING_REQUEST, LOGIN_TO_MIS, Access, has_permission

    seed_demo()
    trust = Institution.objects.get(slug="oak-ridge-trust")
    school = Institution.objects.get(slug="oak-ridge-primary-school")
    # Active staff: the demo's invited colleague has not joined yet (see the test below).
    roles = dict(
        StaffProfile.objects.filter(site=trust, is_active=True).values_list(
            "user__email", "assignments__role__name"
        )
    )
    assert roles == {
        "ceo@oak-ridge.test": "Chief Executive / Executive Head Teacher",
        "trust.admin@oak-ridge.test": "Trust Administrator",
        "data.lead@oak-ridge.test": "Data Lead",
        "central@oak-ridge.test": "Central Team Member",
    }
    admin = User.objects.get(email="trust.admin@oak-ridge.test")
    head = User.objects.get(email="head@oak-ridge-primary-school.test")
    assert has_permission(user=admin, site=trust, code=LOGIN_TO_MIS, access=Access.ADMINISTER)
    assert has_permission(
        user=head, site=school, code=DATA_SHARING_REQUEST, access=Access.ADMINISTER
    )
    school_staff = StaffProfile.objects.filter(site__in=current_schools(group=trust))
    assert school_staff.count() == 40 * 4  # head, deputy, data manager, teacher


def test_the_demo_trust_administrator_can_log_in_to_mis(site_client):
    import re

    from portal.demo import DEMO_BACKUP_CODES, DEMO_PASSWORD

    seed_demo()
    trust = Institution.objects.get(slug="oak-ridge-trust")
    school = Institution.objects.get(slug="oak-ridge-primary-school")
    client = site_client(trust)
    password_step = client.post(
        "/accounts/sign-in/",
        {"username": "trust.admin@oak-ridge.test", "password": DEMO_PASSWORD},
    )
    assert password_step["Location"].startswith("/accounts/sign-in/code/")
    code_step = client.post("/accounts/sign-in/code/", {"code": DEMO_BACKUP_CODES[0]})
    assert code_step.status_code == 302
    chooser = client.get("/log-in-to-mis/").content.decode()
    assert school.name in chooser
    started = client.post("/log-in-to-mis/", {"school": school.urn}).content.decode()
    token = re.search(r'name="token" value="([^"]+)"', started).group(1)
    school_client = site_client(school)
    assert school_client.post("/hop/", {"token": token}).status_code == 302
    assert "Signed in from Oak Ridge Trust" in school_client.get("/").content.decode()


def test_demo_platform_support_signs_in_with_a_backup_code_and_uses_the_admin(site_client):
    from portal.demo import DEMO_BACKUP_CODES, DEMO_PASSWORD, DEMO_SUPPORT_EMAIL

    seed_demo()
    client = site_client()
    password_step = client.post(
        "/sign-in/?next=/support/", {"username": DEMO_SUPPORT_EMAIL, "password": DEMO_PASSWORD}
    )
    assert password_step["Location"] == "/sign-in/code/"
    code_step = client.post("/sign-in/code/", {"code": DEMO_BACKUP_CODES[1]})
    assert code_step["Location"] == "/support/"
    assert client.get("/support/").status_code == 200
    assert client.get("/imports/").status_code == 200


def test_the_trust_schools_have_this_terms_records_and_figures():
    from portal.demo import seed_demo as seed

    wednesday = datetime.date(2026, 11, 25)
    seed(mis_max_pupils=MIS_PUPILS, today=wednesday)
    trust = Institution.objects.get(slug="oak-ridge-trust")
    schools = list(current_schools(group=trust))
    for school in schools:
        with transaction.atomic(), site_scope(school.pk):
            assert 0 < Pupil.objects.filter(site=school).count() <= MIS_PUPILS
            marks = AttendanceMark.objects.filter(site=school)
            assert marks.filter(date=wednesday).count() > 0, school.slug
            assert marks.filter(date__lt=datetime.date(2026, 9, 1)).count() == 0
    states = RollupState.objects.filter(school__in=schools)
    assert set(states.values_list("refreshed_for", flat=True)) == {wednesday}
    figures = AttendanceRollup.objects.filter(school__in=schools).aggregate(
        schools=Count("school", distinct=True),
        on_roll=Sum("pupils_on_roll"),
        possible=Sum("possible_sessions"),
    )
    assert figures["schools"] == 40
    assert figures["on_roll"] > 0 and figures["possible"] > 0
    # The head school's administrators see two reads from outside the school, once.
    from mis.models import OutsideRead

    head_school = Institution.objects.get(slug="oak-ridge-primary-school")
    seed(mis_max_pupils=MIS_PUPILS, today=wednesday)
    with transaction.atomic(), site_scope(head_school.pk):
        reads = OutsideRead.objects.filter(site=head_school)
        assert reads.count() == 2
        assert {read.from_group.slug for read in reads} == {"oak-ridge-trust"}


def test_the_demo_trust_has_two_clusters_of_a_few_schools():
    from institutions.selectors import cluster_choices
    from portal.demo import DEMO_CLUSTERS

    seed_demo()
    seed_demo()  # a second run puts the same schools back, adding nothing
    trust = Institution.objects.get(slug="oak-ridge-trust")
    clusters = {c.name: c for c in trust.clusters.all()}
    assert sorted(clusters) == sorted(DEMO_CLUSTERS)
    primary, secondary = (clusters[name] for name in DEMO_CLUSTERS)
    primaries = set(primary.schools.values_list("phase", flat=True))
    assert primaries == {"Primary"}
    assert set(secondary.schools.values_list("phase", flat=True)) == {"Secondary"}
    assert primary.schools.filter(slug="oak-ridge-primary-school").exists()
    assert 3 <= primary.schools.count() <= 6 and 3 <= secondary.schools.count() <= 6
    assert len(list(cluster_choices(group=trust))) == 2


def test_the_run_prints_progress_the_mail_page_and_every_demo_account(capsys, tmp_path):
    from django.test import override_settings

    from notifications.views import FILE_BACKEND

    development_mail = {"default": {"BACKEND": FILE_BACKEND, "OPTIONS": {"file_path": tmp_path}}}
    with override_settings(MAILERS=development_mail):
        seed_demo()
    out = capsys.readouterr().out
    # Progress while it works: one line per step.
    for step in ("The register:", "Staff accounts", "Published (DfE)"):
        assert f"    {step}" in out, out
    assert re.search(r"Emails sent: +http://localhost(:\d+)?/mail/\n", out), out
    for email in (
        "trust.admin@oak-ridge.test",
        "ceo@oak-ridge.test",
        "data.lead@oak-ridge.test",
        "central@oak-ridge.test",
        "data.lead@northshire.test",
        "head@oak-ridge-primary-school.test",
        "deputy@oak-ridge-primary-school.test",
        "data@oak-ridge-primary-school.test",
        "support@matmis.test",
    ):
        assert email in out, email
    assert "Deputy Head Teacher:" in out and "Data Manager:" in out
    # The printed password is theirs.
    from portal.demo import DEMO_PASSWORD

    deputy = User.objects.get(email="deputy@oak-ridge-primary-school.test")
    assert deputy.check_password(DEMO_PASSWORD)


def test_the_mis_records_step_reports_progress(capsys):
    seed_demo(mis_pupils=2)
    out = capsys.readouterr().out
    assert "MIS records of the trust's 40 schools" in out
    assert "This term's attendance figures" in out


def test_the_demo_has_a_request_sent_to_a_named_person_and_forwarded():
    from sharing.models import RecipientSource, RequestRecipient

    seed_demo()
    seed_demo()  # a second run finds the request and leaves it
    trust = Institution.objects.get(slug="oak-ridge-trust")
    recipients = RequestRecipient.objects.filter(request__group=trust)
    assert recipients.values("request").distinct().count() == 1
    sources = {r.email.split("@")[0]: r.source for r in recipients}
    assert sources == {
        "head": RecipientSource.ROLE,
        "data": RecipientSource.NAMED,
        "deputy": RecipientSource.FORWARDED,
    }
    forwarded = recipients.get(source=RecipientSource.FORWARDED)
    assert forwarded.forwarded_by.email.startswith("head@")


def test_the_demo_has_a_school_that_left_the_trust_and_rejoined():
    """Its agreement ended when it left (history) and it is back on No Agreement."""
    from sharing.access import agreement_level
    from sharing.models import SCHOOL_LEFT_THE_GROUP, Agreement

    seed_demo()
    seed_demo()  # once: a second run ends nothing more
    trust = Institution.objects.get(slug="oak-ridge-trust")
    ended = Agreement.objects.ended().filter(group=trust)
    assert ended.count() == 1
    agreement = ended.get()
    assert agreement.end_reason == SCHOOL_LEFT_THE_GROUP
    assert current_schools(group=trust).filter(pk=agreement.school_id).exists()
    assert agreement_level(group=trust, school=agreement.school) == 0


def test_the_demo_trust_has_a_colleague_invited_and_not_yet_accepted():
    """Staff onboarding shows in the demo: one invitation on the trust's Staff list, its
    email queued with a link; a second run adds nothing (and would renew an expired one)."""
    from accounts.models import StaffInvitation
    from notifications.models import EmailDelivery

    seed_demo()
    seed_demo()
    invitation = StaffInvitation.objects.get()
    assert invitation.site.slug == "oak-ridge-trust"
    assert invitation.profile.user.email == "new.colleague@oak-ridge.test"
    assert not invitation.profile.is_active and invitation.used_at is None
    assert EmailDelivery.objects.filter(kind="staff-invitation").count() == 1


def test_demo_has_a_pending_transfer_between_two_trust_schools_and_a_sample_ctf():
    seed_demo()
    seed_demo()  # once, however often the demo is seeded
    found = []
    for school in Institution.objects.filter(kind="school"):
        with transaction.atomic(), site_scope(school.pk):
            found += [
                (school, arrival.from_school, arrival.state, arrival.legal_last_name)
                for arrival in PupilArrival.objects.select_related("from_school")
            ]
    ((school, source, state, surname),) = found
    assert state == PupilArrival.State.PENDING and surname == DEMO_TRANSFER_PUPIL[1]
    trusts = GroupMembership.objects.filter(group__kind="trust")
    assert set(trusts.filter(school=source).values_list("group", flat=True)) & set(
        trusts.filter(school=school).values_list("group", flat=True)
    )
    sample = (settings.BASE_DIR / "mis" / "samples" / "ctf-sample.xml").read_bytes()
    document = read_ctf(sample)
    assert len(document.pupils) == 3 and not document.blocking


def test_the_demo_app_reads_students_with_the_printed_credentials(capsys):
    """Reading Stars is authorised at Oak Ridge Primary School (Students and Attendance,
    Student Characteristics left off) and waits at another trust school; School Finder
    asks for public data only. The run prints a client id, a secret and a curl line that
    work; a second run changes nothing."""
    seed_demo(mis_pupils=MIS_PUPILS)
    seed_demo(mis_pupils=MIS_PUPILS)
    output = capsys.readouterr().out
    match = re.search(r"client id (\S+), secret (\S+)", output)
    assert match is not None
    assert "curl -s" in output and "/api/apps/v1/schools/" in output
    authorisation = AppAuthorisation.objects.get()
    assert authorisation.school.name == "Oak Ridge Primary School"
    assert authorisation.scopes == ["students", "attendance"]
    assert DataAccessRequest.objects.filter(status="pending").count() == 1
    client = SiteClient()
    token = client.post(
        "/api/apps/v1/oauth/token/",
        {
            "grant_type": "client_credentials",
            "client_id": match.group(1),
            "client_secret": match.group(2),
        },
    ).json()["access_token"]
    students = client.get(
        f"/api/apps/v1/schools/{authorisation.school.urn}/students/",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    ).json()
    assert students["count"] > 0
    assert "fsm_eligible" not in students["results"][0]
