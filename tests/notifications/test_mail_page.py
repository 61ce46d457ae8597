"""The development mail page on the bare base domain."""

import pytest

from sharing.emails import EmailKind, request_emails_enqueue
from tests.notifications.factories import make_request

pytestmark = pytest.mark.django_db


@pytest.fixture
def file_mail(settings, tmp_path):
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "OPTIONS": {"file_path": str(tmp_path)},
        }
    }
    return tmp_path


def test_the_page_lists_the_mail_newest_first_and_shows_the_link(
    pair, file_mail, site_client, django_capture_on_commit_callbacks
):
    request = make_request(pair)  # two recipients: one file, two messages
    with django_capture_on_commit_callbacks(execute=True):
        request_emails_enqueue(requests=[request], kind=EmailKind.REQUEST)
    assert len(list(file_mail.glob("*.log"))) == 1

    client = site_client()  # the bare base domain
    listing = client.get("/mail/")
    assert listing.status_code == 200
    html = listing.content.decode()
    subject = "Oak Ridge Trust asks to share data with St Mary’s: DfE Data &amp; MIS Data"
    assert html.count(subject) == 2
    assert html.index("data@st-marys.test") < html.index("head@st-marys.test")  # newest first
    name = listing.context["messages_found"][0].name

    message = client.get(f"/mail/{name}/")
    assert message.status_code == 200
    html = message.content.decode()
    link = f"http://st-marys.localhost/data/data-sharing/requests/{request.id}/"
    assert f'<a href="{link}"' in html
    assert "Dear Dan Moss," in html
    assert "&lt;!DOCTYPE html&gt;" in html  # the HTML part, as text only
    assert "<table role" not in html


@pytest.mark.parametrize("name", ["nope", "..%2F..%2Fetc.0", "20260101-000000-1.0", "x.log.0"])
def test_unknown_messages_are_404(file_mail, site_client, name):
    assert site_client().get(f"/mail/{name}/").status_code == 404


def test_there_is_no_mail_page_in_production(file_mail, site_client, settings):
    settings.PRODUCTION = True
    assert site_client().get("/mail/").status_code == 404


def test_without_the_file_backend_the_page_says_where_mail_goes(site_client):
    response = site_client().get("/mail/")
    assert "Mail is not written to files here" in response.content.decode()


def test_site_hosts_have_no_mail_page(pair, site_client):
    assert site_client(pair.school, pair.head).get("/mail/").status_code == 404
