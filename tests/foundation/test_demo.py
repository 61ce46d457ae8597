import pytest
from django.core.management import call_command

from accounts.models import StaffProfile, User
from institutions.models import GroupMembership, Institution

pytestmark = pytest.mark.django_db


def snapshot():
    return (
        sorted(Institution.objects.values_list("slug", "kind", "name")),
        sorted(GroupMembership.objects.values_list("group__slug", "school__slug", "left_on")),
        sorted(User.objects.values_list("email", "is_staff")),
        sorted(StaffProfile.objects.values_list("user__email", "site__slug")),
    )


def test_demo_seed_is_idempotent_and_deterministic(capsys):
    call_command("seed_demo")
    first = snapshot()
    call_command("seed_demo")
    assert snapshot() == first
    institutions, memberships, users, profiles = first
    assert ("head@oak-ridge-primary.test", "oak-ridge-primary") in profiles
    kinds = {kind for _, kind, _ in institutions}
    assert kinds == {"school", "trust", "la"}
    assert ("oak-ridge-trust", "oak-ridge-primary", None) in memberships
    assert ("support@matmis.test", True) in users
    assert "Password for every demo account" in capsys.readouterr().out


def test_demo_accounts_can_sign_in_where_they_work(site_client):
    from matmis.demo import DEMO_PASSWORD

    call_command("seed_demo")
    trust = Institution.objects.get(slug="oak-ridge-trust")
    client = site_client(trust)
    response = client.post(
        "/accounts/sign-in/",
        {"username": "trust.admin@oak-ridge.test", "password": DEMO_PASSWORD},
    )
    assert response.status_code == 302
    assert client.get("/").status_code == 200
