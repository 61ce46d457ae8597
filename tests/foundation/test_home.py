import datetime
import re

import pytest
from django.utils import timezone

from institutions.models import Status
from sharing.models import AccessLevel, Agreement
from tests.factories import (
    InstitutionFactory,
    MembershipFactory,
    StaffProfileFactory,
    pupil_data_staff,
)

pytestmark = pytest.mark.django_db


def stat(html: str, label: str) -> int:
    match = re.search(
        rf'mm-stat__value">\s*(\d+)\s*</span>\s*<span class="mm-stat__label">{label}<', html
    )
    assert match, label
    return int(match.group(1))


def test_group_home_counts_schools_and_agreements_and_says_how_many_have_not_shared(
    site_client, trust, trust_staff
):
    schools = [InstitutionFactory(status=Status.OPEN) for _ in range(3)]
    for school in schools:
        MembershipFactory(group=trust, school=school)
    Agreement.objects.create(
        group=trust, school=schools[0], level=AccessLevel.DFE_DATA, approved_at=timezone.now()
    )
    html = site_client(trust, trust_staff).get("/").content.decode()
    assert stat(html, "Schools") == 3
    assert stat(html, "Agreements approved") == 1
    assert stat(html, "No agreement") == 2
    # What "not shared" means here, and how it differs from Analytics' count (issue 20).
    assert "2 schools have no data sharing agreement yet" in html
    assert "Analytics counts more schools as not sharing MIS data" in html
    assert "not shared their data" not in html
    assert 'href="/data-sharing/?tab=none"' in html


def test_school_home_points_to_data_sharing(site_client):
    school = InstitutionFactory(status=Status.OPEN)
    head = StaffProfileFactory(site=school).user
    html = site_client(school, head).get("/").content.decode()
    assert stat(html, "Data sharing requests waiting") == 0
    assert 'href="/data/data-sharing/"' in html
    assert "have not shared" not in html


def test_school_home_shows_this_mornings_registers(site_client):
    from tests.mis.factories import PupilFactory, mark

    school = InstitutionFactory(status=Status.OPEN)
    head = pupil_data_staff(school)
    today = timezone.localdate()
    present, ill, _not_yet_marked = (PupilFactory(site=school) for _ in range(3))
    mark(present, today, "AM", "/")
    mark(ill, today, "AM", "I")
    PupilFactory(site=school, enrolled_on=today + datetime.timedelta(days=7))  # not yet
    html = site_client(school, head).get("/").content.decode()
    assert stat(html, "Pupils on roll") == 3
    assert stat(html, "Present this morning") == 1
    assert stat(html, "Absent this morning") == 1
    assert stat(html, "Not yet marked this morning") == 1
    assert 'href="/attendance/"' in html and 'href="/students/"' in html


def test_school_home_shows_no_pupil_figures_without_the_permissions(site_client):
    from tests.mis.factories import PupilFactory

    school = InstitutionFactory(status=Status.OPEN)
    PupilFactory(site=school)
    html = site_client(school, StaffProfileFactory(site=school).user).get("/").content.decode()
    assert "Pupils on roll" not in html and "Present this morning" not in html
    assert 'href="/attendance/"' not in html and 'href="/students/"' not in html


def test_group_home_links_to_analytics(site_client, trust, trust_staff):
    html = site_client(trust, pupil_data_staff(trust)).get("/").content.decode()
    assert 'href="/analytics/"' in html
    # Without Analytics: neither the shortcut nor the menu entry.
    assert 'href="/analytics/"' not in site_client(trust, trust_staff).get("/").content.decode()
