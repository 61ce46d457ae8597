"""Password reset by email, on each site's own host."""

import re

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.core.cache import cache
from django.test import TestCase, override_settings
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.identity.sign_in import PASSWORD_RESET_ACCOUNT_LIMIT, PASSWORD_RESET_ADDRESS_LIMIT
from tests.accounts.test_two_factor import give_two_factor
from tests.conftest import SiteClient
from tests.factories import StaffProfileFactory, TrustFactory, UserFactory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-brand-new-passphrase-42"
SENT = "If an account exists with a profile at Oak Ridge Trust"


def asked(site, data, **extra):
    """Ask for a link, with the request's transaction committed (its email is queued in
    the outbox and sent once it commits: eager Celery, the locmem backend)."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return SiteClient(site).post("/accounts/password-reset/", data, follow=True, **extra)


def request_link(site, email):
    return asked(site, {"email": email})


def link_in(message) -> str:
    match = re.search(r"(http://\S+/accounts/password-reset/\S+/\S+/)", message.body)
    assert match, message.body
    return match.group(1)


def without_csrf(response) -> str:
    return re.sub(r'"X-CSRFToken": "[^"]*"', "", response.content.decode())


def path_of(url: str) -> str:
    return re.sub(r"^http://[^/]+", "", url)


def choose_password(client, link, password=NEW_PASSWORD):
    response = client.get(path_of(link))
    if response.status_code != 302:
        return response
    return client.post(response["Location"], {"new_password1": password, "new_password2": password})


class TestTooManyRequests:
    """Issue 12: fifteen requests in a row sent fifteen emails. Now each email address and
    each network address may ask a few times an hour; beyond that nothing is sent, and the
    page says what it always says."""

    def ask(self, site, email, address="203.0.113.4"):
        return asked(site, {"email": email}, REMOTE_ADDR=address)

    def test_fifteen_in_a_row_send_only_the_limit(self, trust, trust_staff):
        answers = [self.ask(trust, trust_staff.email) for _ in range(15)]
        assert len(mail.outbox) == PASSWORD_RESET_ACCOUNT_LIMIT
        first, last = answers[0], answers[-1]
        assert last.redirect_chain == first.redirect_chain
        assert without_csrf(last) == without_csrf(first)
        assert SENT in last.content.decode()

    def test_the_account_limit_holds_from_any_address(self, trust, trust_staff):
        for n in range(PASSWORD_RESET_ACCOUNT_LIMIT + 2):
            self.ask(trust, trust_staff.email.upper(), address=f"198.51.100.{n + 1}")
        assert len(mail.outbox) == PASSWORD_RESET_ACCOUNT_LIMIT

    def test_the_address_limit_holds_for_any_account(self, trust):
        staff = [
            StaffProfileFactory(site=trust).user for _ in range(PASSWORD_RESET_ADDRESS_LIMIT + 2)
        ]
        for user in staff:
            self.ask(trust, user.email)
        assert len(mail.outbox) == PASSWORD_RESET_ADDRESS_LIMIT
        self.ask(trust, staff[-1].email, address="198.51.100.77")
        assert len(mail.outbox) == PASSWORD_RESET_ADDRESS_LIMIT + 1

    def test_unknown_addresses_count_the_same(self, trust, trust_staff):
        """Asking for a stranger uses up the network's allowance like asking for a member
        of staff: the limit says nothing about who has an account."""
        for n in range(PASSWORD_RESET_ADDRESS_LIMIT):
            self.ask(trust, f"nobody{n}@example.test")
        self.ask(trust, trust_staff.email)
        assert not mail.outbox

    def test_the_window_ends(self, trust, trust_staff):
        for _ in range(PASSWORD_RESET_ACCOUNT_LIMIT + 1):
            self.ask(trust, trust_staff.email)
        assert len(mail.outbox) == PASSWORD_RESET_ACCOUNT_LIMIT
        cache.clear()  # the window lapsing (the counters are its only state)
        self.ask(trust, trust_staff.email)
        assert len(mail.outbox) == PASSWORD_RESET_ACCOUNT_LIMIT + 1


class TestAskingForALink:
    def test_staff_of_this_site_are_sent_a_link_on_this_host(self, trust, trust_staff):
        response = request_link(trust, trust_staff.email.upper())
        assert response.redirect_chain == [("/accounts/password-reset/sent/", 302)]
        assert SENT in response.content.decode()
        [message] = mail.outbox
        assert message.to == [trust_staff.email]
        assert "Oak Ridge Trust" in message.subject
        link = link_in(message)
        assert link.startswith("http://oak-ridge-trust.localhost/accounts/password-reset/")
        [(html, mimetype)] = message.alternatives
        assert mimetype == "text/html"
        assert link in html
        assert "Oak Ridge Trust" in html

    @pytest.mark.parametrize("who", ["stranger", "staff_elsewhere", "inactive_profile", "none"])
    def test_nobody_else_is_sent_anything_and_the_page_is_the_same(self, trust, trust_staff, who):
        email = {
            "stranger": "nobody@example.test",
            "staff_elsewhere": StaffProfileFactory(site=TrustFactory()).user.email,
            "inactive_profile": StaffProfileFactory(site=trust, is_active=False).user.email,
            "none": UserFactory().email,
        }[who]
        theirs = request_link(trust, email)
        ours = request_link(trust, trust_staff.email)
        assert len(mail.outbox) == 1  # only ours
        assert theirs.redirect_chain == ours.redirect_chain
        assert without_csrf(theirs) == without_csrf(ours)

    def test_an_invalid_address_is_explained(self, trust):
        response = SiteClient(trust).post("/accounts/password-reset/", {"email": "not-an-email"})
        assert response.status_code == 200
        assert "Enter an email address like" in response.content.decode()
        assert not mail.outbox


class TestTheLink:
    def test_it_sets_a_new_password_once(self, trust, trust_staff):
        request_link(trust, trust_staff.email)
        link = link_in(mail.outbox[0])
        client = SiteClient(trust)
        response = choose_password(client, link)
        assert response["Location"] == "/accounts/password-reset/complete/"
        trust_staff.refresh_from_db()
        assert trust_staff.check_password(NEW_PASSWORD)
        # The reset signs nobody in.
        assert client.get("/").status_code == 302

        again = choose_password(SiteClient(trust), link, password="yet-another-passphrase-7")
        assert again.status_code == 200
        assert "This link has expired or was already used" in again.content.decode()
        trust_staff.refresh_from_db()
        assert trust_staff.check_password(NEW_PASSWORD)

    @override_settings(PASSWORD_RESET_TIMEOUT=60 * 60)
    def test_an_expired_link_changes_nothing(self, trust, trust_staff):
        generator = default_token_generator
        two_hours_ago = generator._num_seconds(generator._now()) - 2 * 60 * 60
        token = generator._make_token_with_timestamp(trust_staff, two_hours_ago, generator.secret)
        uid = urlsafe_base64_encode(force_bytes(trust_staff.pk))
        response = SiteClient(trust).get(f"/accounts/password-reset/{uid}/{token}/")
        assert response.status_code == 200
        assert "This link has expired or was already used" in response.content.decode()
        trust_staff.refresh_from_db()
        assert not trust_staff.check_password(NEW_PASSWORD)

    def test_a_forged_link_changes_nothing(self, trust, trust_staff):
        uid = urlsafe_base64_encode(force_bytes(trust_staff.pk))
        for path in [
            f"/accounts/password-reset/{uid}/cn1xyz-0123456789abcdef0123456789abcdef/",
            "/accounts/password-reset/bm90LWEtdXNlcg/set-password/",
            f"/accounts/password-reset/{uid}/set-password/",
        ]:
            response = SiteClient(trust).get(path)
            assert response.status_code == 200, path
            assert "This link has expired or was already used" in response.content.decode()
            response = SiteClient(trust).post(
                path, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
            )
            assert "This link has expired or was already used" in response.content.decode()
        trust_staff.refresh_from_db()
        assert not trust_staff.check_password(NEW_PASSWORD)

    def test_it_works_only_at_a_site_where_the_person_works(self, trust, trust_staff):
        request_link(trust, trust_staff.email)
        link = link_in(mail.outbox[0])
        response = choose_password(SiteClient(TrustFactory()), link)
        assert "This link has expired or was already used" in response.content.decode()
        trust_staff.refresh_from_db()
        assert not trust_staff.check_password(NEW_PASSWORD)

    def test_it_does_not_get_round_two_factor_sign_in(self, trust, trust_staff):
        give_two_factor(trust_staff)
        request_link(trust, trust_staff.email)
        choose_password(SiteClient(trust), link_in(mail.outbox[0]))
        client = SiteClient(trust)
        response = client.post(
            "/accounts/sign-in/", {"username": trust_staff.email, "password": NEW_PASSWORD}
        )
        assert response["Location"] == "/accounts/sign-in/code/"
        assert client.get("/").status_code == 302
