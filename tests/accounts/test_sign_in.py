"""Signing in and out: the audit trail, and throttling of repeated failures."""

import datetime
import io
import re

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

from accounts.identity.sign_in import (
    ACCOUNT_FAILURE_LIMIT,
    ACCOUNT_FAILURE_WINDOW,
    ACCOUNT_LOCKOUT,
    ADDRESS_FAILURE_LIMIT,
)
from accounts.models import AuditAction, AuditEvent, SignInFailure
from tests.conftest import SiteClient
from tests.factories import TEST_PASSWORD, StaffProfileFactory, TrustFactory

pytestmark = pytest.mark.django_db

WRONG = "not-the-password"
INVALID_LOGIN = "The email address or password is not right for this site."


def attempt(site, email, password, ip="127.0.0.1"):
    return SiteClient(site).post(
        "/accounts/sign-in/", {"username": email, "password": password}, REMOTE_ADDR=ip
    )


def error_of(response) -> str:
    """The message in the page's error summary."""
    match = re.search(
        r'govuk-error-summary__list">\s*<li><a [^>]*>([^<]*)</a>', response.content.decode()
    )
    return match.group(1) if match else ""


def fail(site, email, times, ip="127.0.0.1"):
    for _ in range(times):
        attempt(site, email, WRONG, ip=ip)


def age_failures(by: datetime.timedelta, **filters) -> None:
    """Move recorded failures back in time (instead of waiting)."""
    for failure in SignInFailure.objects.filter(**filters):
        failure.at -= by
        failure.save(update_fields=["at"])


class TestAuditTrail:
    def test_a_sign_in_is_audited_at_the_site(self, trust, trust_staff):
        response = attempt(trust, trust_staff.email, TEST_PASSWORD, ip="192.0.2.7")
        assert response.status_code == 302
        event = AuditEvent.objects.get()
        assert event.action == AuditAction.SIGN_IN
        assert (event.site, event.actor, event.actor_email) == (
            trust,
            trust_staff,
            trust_staff.email,
        )
        assert event.ip_address == "192.0.2.7"
        assert event.detail == {"second_factor": "none"}

    def test_a_failed_sign_in_is_audited_with_the_email_tried(self, trust, trust_staff):
        attempt(trust, trust_staff.email.upper(), WRONG, ip="192.0.2.8")
        event = AuditEvent.objects.get()
        assert event.action == AuditAction.SIGN_IN_FAILED
        assert (event.site, event.actor, event.actor_email) == (trust, None, "")
        assert (event.target, event.ip_address) == (trust_staff.email, "192.0.2.8")
        failure = SignInFailure.objects.get()
        assert (failure.email, failure.site, failure.ip_address) == (
            trust_staff.email,
            trust,
            "192.0.2.8",
        )

    def test_failures_are_audited_at_the_site_where_they_happened(self, trust, trust_staff):
        other = TrustFactory()
        attempt(other, trust_staff.email, TEST_PASSWORD)  # right password, wrong site
        event = AuditEvent.objects.get()
        assert (event.action, event.site) == (AuditAction.SIGN_IN_FAILED, other)
        # The reason is the same as for a wrong password: nothing about other sites.
        assert event.detail == {"reason": "credentials"}

    def test_unknown_addresses_fail_like_wrong_passwords(self, trust, trust_staff):
        unknown = attempt(trust, "nobody@example.test", WRONG)
        wrong = attempt(trust, trust_staff.email, WRONG)
        assert unknown.status_code == wrong.status_code == 200
        assert error_of(unknown) == error_of(wrong)
        assert INVALID_LOGIN in error_of(unknown)
        assert SignInFailure.objects.count() == 2

    def test_sign_out_is_audited(self, site_client, trust, trust_staff):
        client = site_client(trust, trust_staff)
        client.post("/accounts/sign-out/")
        event = AuditEvent.objects.get()
        assert (event.action, event.site, event.actor) == (
            AuditAction.SIGN_OUT,
            trust,
            trust_staff,
        )


class TestAccountLockout:
    def test_the_attempt_after_the_limit_is_refused_even_with_the_right_password(
        self, trust, trust_staff
    ):
        fail(trust, trust_staff.email, ACCOUNT_FAILURE_LIMIT)
        response = attempt(trust, trust_staff.email, TEST_PASSWORD)
        assert response.status_code == 429
        assert "too many failed attempts to sign in with this email address" in error_of(response)
        assert "Try again in 15 minutes" in error_of(response)
        assert not response.wsgi_request.user.is_authenticated
        assert not AuditEvent.objects.filter(action=AuditAction.SIGN_IN).exists()
        # A refused attempt does not count as another failure.
        assert SignInFailure.objects.count() == ACCOUNT_FAILURE_LIMIT

    def test_fewer_failures_do_not_lock(self, trust, trust_staff):
        fail(trust, trust_staff.email, ACCOUNT_FAILURE_LIMIT - 1)
        assert attempt(trust, trust_staff.email, TEST_PASSWORD).status_code == 302

    def test_the_message_is_the_same_whether_or_not_the_account_exists(self, trust, trust_staff):
        fail(trust, trust_staff.email, ACCOUNT_FAILURE_LIMIT)
        fail(trust, "nobody@example.test", ACCOUNT_FAILURE_LIMIT)
        real = attempt(trust, trust_staff.email, TEST_PASSWORD)
        ghost = attempt(trust, "nobody@example.test", TEST_PASSWORD)
        assert real.status_code == ghost.status_code == 429
        assert error_of(real) == error_of(ghost) != ""

    def test_other_accounts_are_unaffected(self, trust, trust_staff):
        colleague = StaffProfileFactory(site=trust).user
        fail(trust, trust_staff.email, ACCOUNT_FAILURE_LIMIT)
        assert attempt(trust, colleague.email, TEST_PASSWORD).status_code == 302

    def test_the_lock_counts_failures_at_every_site(self, trust, trust_staff):
        other = TrustFactory()
        fail(other, trust_staff.email, ACCOUNT_FAILURE_LIMIT)
        assert attempt(trust, trust_staff.email, TEST_PASSWORD).status_code == 429

    def test_the_lock_lasts_its_time_after_the_last_failure(self, trust, trust_staff):
        fail(trust, trust_staff.email, ACCOUNT_FAILURE_LIMIT)
        age_failures(ACCOUNT_LOCKOUT - datetime.timedelta(minutes=1))
        assert attempt(trust, trust_staff.email, TEST_PASSWORD).status_code == 429
        age_failures(datetime.timedelta(minutes=2))
        assert attempt(trust, trust_staff.email, TEST_PASSWORD).status_code == 302

    def test_failures_spread_wider_than_the_window_do_not_lock(self, trust, trust_staff):
        fail(trust, trust_staff.email, ACCOUNT_FAILURE_LIMIT - 1)
        age_failures(ACCOUNT_FAILURE_WINDOW + datetime.timedelta(minutes=1))
        fail(trust, trust_staff.email, 1)
        assert attempt(trust, trust_staff.email, TEST_PASSWORD).status_code == 302

    def test_a_successful_sign_in_erases_nothing(self, trust, trust_staff):
        fail(trust, trust_staff.email, ACCOUNT_FAILURE_LIMIT - 1)
        assert attempt(trust, trust_staff.email, TEST_PASSWORD).status_code == 302
        assert SignInFailure.objects.count() == ACCOUNT_FAILURE_LIMIT - 1
        fail(trust, trust_staff.email, 1)
        assert attempt(trust, trust_staff.email, TEST_PASSWORD).status_code == 429

    def test_the_email_is_counted_whatever_its_capitals(self, trust, trust_staff):
        fail(trust, f"  {trust_staff.email.upper()} ", ACCOUNT_FAILURE_LIMIT)
        assert attempt(trust, trust_staff.email, TEST_PASSWORD).status_code == 429


class TestAddressBlock:
    def test_many_failures_from_one_address_block_it(self, trust, trust_staff):
        SignInFailure.objects.bulk_create(
            SignInFailure(email=f"guess{n}@example.test", ip_address="198.51.100.9", site=trust)
            for n in range(ADDRESS_FAILURE_LIMIT - 1)
        )
        assert attempt(trust, "one-more@example.test", WRONG, ip="198.51.100.9").status_code == 200
        blocked = attempt(trust, trust_staff.email, TEST_PASSWORD, ip="198.51.100.9")
        assert blocked.status_code == 429
        assert "from your network" in error_of(blocked)
        # The account itself is fine from anywhere else.
        assert attempt(trust, trust_staff.email, TEST_PASSWORD, ip="203.0.113.4").status_code == 302

    def test_the_block_ends(self, trust, trust_staff):
        SignInFailure.objects.bulk_create(
            SignInFailure(email=f"guess{n}@example.test", ip_address="198.51.100.9", site=trust)
            for n in range(ADDRESS_FAILURE_LIMIT)
        )
        assert (
            attempt(trust, trust_staff.email, TEST_PASSWORD, ip="198.51.100.9").status_code == 429
        )
        age_failures(datetime.timedelta(minutes=16))
        assert (
            attempt(trust, trust_staff.email, TEST_PASSWORD, ip="198.51.100.9").status_code == 302
        )


class TestBehindAProxy:
    """Every client reaches the application from the proxy's address: the lock-out counts
    the client's own address (``matmis.client_address``) once the proxy is trusted."""

    PROXY = "10.0.0.2"

    def through_proxy(self, site, email, password, client):
        return SiteClient(site).post(
            "/accounts/sign-in/",
            {"username": email, "password": password},
            REMOTE_ADDR=self.PROXY,
            HTTP_X_FORWARDED_FOR=client,
        )

    @override_settings(MATMIS_TRUSTED_PROXIES=1)
    def test_one_clients_failures_do_not_lock_out_everyone_behind_the_proxy(
        self, trust, trust_staff
    ):
        for n in range(ADDRESS_FAILURE_LIMIT):
            self.through_proxy(trust, f"guess{n}@example.test", WRONG, "198.51.100.9")
        assert set(SignInFailure.objects.values_list("ip_address", flat=True)) == {"198.51.100.9"}
        blocked = self.through_proxy(trust, trust_staff.email, TEST_PASSWORD, "198.51.100.9")
        assert blocked.status_code == 429
        assert "from your network" in error_of(blocked)
        colleague = self.through_proxy(trust, trust_staff.email, TEST_PASSWORD, "203.0.113.4")
        assert colleague.status_code == 302
        assert AuditEvent.objects.get(action=AuditAction.SIGN_IN).ip_address == "203.0.113.4"

    def test_without_a_trusted_proxy_the_header_is_not_believed(self, trust, trust_staff):
        self.through_proxy(trust, trust_staff.email, WRONG, "203.0.113.4")
        assert SignInFailure.objects.get().ip_address == self.PROXY


def test_sign_in_needs_a_profile_at_this_site_with_the_same_message(trust, trust_staff):
    wrong_site = attempt(TrustFactory(), trust_staff.email, TEST_PASSWORD)
    wrong_password = attempt(trust, trust_staff.email, WRONG)
    assert error_of(wrong_site) == error_of(wrong_password)
    assert INVALID_LOGIN in error_of(wrong_site)


def test_an_unsafe_next_address_is_ignored(trust, trust_staff):
    response = SiteClient(trust).post(
        "/accounts/sign-in/",
        {"username": trust_staff.email, "password": TEST_PASSWORD, "next": "https://evil.test/"},
    )
    assert response["Location"] == "/"


def test_prune_command_deletes_failures_older_than_a_day(trust):
    old = SignInFailure.objects.create(email="a@example.test", site=trust)
    recent = SignInFailure.objects.create(email="b@example.test", site=trust)
    SignInFailure.objects.filter(pk=old.pk).update(
        at=timezone.now() - datetime.timedelta(days=1, minutes=1)
    )
    SignInFailure.objects.filter(pk=recent.pk).update(
        at=timezone.now() - datetime.timedelta(hours=23)
    )
    out = io.StringIO()
    call_command("prune_sign_in_failures", stdout=out)
    assert list(SignInFailure.objects.values_list("pk", flat=True)) == [recent.pk]
    assert "Deleted 1" in out.getvalue()
