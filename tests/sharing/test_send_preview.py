"""The send form's preview never puts the form's CSRF token in an address: tokens in URLs
end up in server logs and Referer headers (issue 12, item 10)."""

import re

import pytest

from sharing.models import AgreementRequest

from .factories import group_admin_profile, school_with_head

pytestmark = pytest.mark.django_db

URL = "/data-sharing/send/"
TOKEN = "csrfmiddlewaretoken"


@pytest.fixture
def client(site_client, trust):
    school_with_head(trust, name="Acorn Primary", urn="100001")
    profile = group_admin_profile(trust)
    client = site_client(trust, profile.user)
    client.profile = profile
    return client


def send_form(html: str) -> str:
    start = html.index('<form id="bulk-form"')
    return html[start : html.index("</form>", start)]


def test_the_form_holds_its_token_for_the_send(client):
    form = send_form(client.get(URL, {"tab": "none", "school": "100001"}).content.decode())
    assert f'name="{TOKEN}"' in form
    assert 'method="post"' in form


def test_the_live_preview_leaves_the_token_out_of_its_address(client):
    """htmx's GET of the preview includes the whole form: before, the token too."""
    form = send_form(client.get(URL, {"tab": "none", "school": "100001"}).content.decode())
    live = re.search(r"<[^>]*hx-get=\"/data-sharing/send/preview/\"[^>]*>", form).group(0)
    assert 'hx-include="#bulk-form"' in live
    assert f'hx-params="not {TOKEN}"' in live


def test_no_button_of_the_form_submits_it_by_get(client):
    """Before: "Update the preview" without JavaScript sent the form, token and all, by GET."""
    form = send_form(client.get(URL, {"tab": "none", "school": "100001"}).content.decode())
    assert 'formmethod="get"' not in form.lower()
    assert re.search(r'<button[^>]*name="preview"[^>]*>Update the preview</button>', form)


def test_updating_the_preview_without_javascript_posts_and_sends_nothing(client):
    response = client.post(
        URL,
        {
            "tab": "none",
            "school": "100001",
            "level": "2",
            "sender": str(client.profile.pk),
            "roles": ["Head Teacher"],
            "preview": "1",
        },
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "Will be sent to <strong>1 school</strong>" in html
    assert "There is a problem" not in html
    assert not AgreementRequest.objects.exists()


def test_updating_the_preview_of_an_unfinished_form_shows_no_errors(client):
    response = client.post(URL, {"tab": "none", "school": "100001", "preview": "1"})
    assert response.status_code == 200
    assert "Choose the access level to ask for." not in response.content.decode()
    assert not AgreementRequest.objects.exists()
