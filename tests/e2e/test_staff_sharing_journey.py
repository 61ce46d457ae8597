"""Staff sharing in a real browser (headless Chromium through Playwright).

A spoke teacher of a coaching network uploads a short lesson video, finds the hub's coach
in the share picker (labelled with the hub's name) and not the other spoke school's
teacher, and shares it; the coach signs in on the hub's own host, opens it from “Shared
with you” and plays it. Screenshots go to test-artifacts/e2e/ (``sharing-*``), each page
checked with axe at a desktop and a phone width (``check_page``).
"""

import re
from pathlib import Path

import pytest
from django.conf import settings

from tests.e2e.test_sharing_journey import ARTIFACTS, TIMEOUT_MS, check_page, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

VIDEO = Path(settings.BASE_DIR) / "portal" / "demo_media" / "lesson-clip.webm"


@pytest.fixture
def coaching(settings, live_server, tmp_path, monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    port = live_server.url.rsplit(":", 1)[1]
    settings.SITE_PORT = port
    settings.MEDIA_ROOT = tmp_path / "media"
    from networks.models import NetworkKind
    from tests.factories import InstitutionFactory, StaffProfileFactory, UserFactory
    from tests.networks.conftest import approved_network

    ash = InstitutionFactory(name="Ash Primary", slug="ash-primary")
    beech = InstitutionFactory(name="Beech Academy", slug="beech-academy")
    hub = InstitutionFactory(name="Northshire Teaching School Hub", slug="northshire-hub")
    teacher = StaffProfileFactory(
        site=ash, user=UserFactory(email="teacher@ash.test", full_name="Tara Teacher")
    ).user
    other_spoke = StaffProfileFactory(
        site=beech, user=UserFactory(email="teacher@beech.test", full_name="Bernard Beech")
    ).user
    coach = StaffProfileFactory(
        site=hub, user=UserFactory(email="coach@hub.test", full_name="Carl Coach")
    ).user
    approved_network(
        kind=NetworkKind.COACHING,
        sites=[hub, ash, beech],
        coaching=hub,
        members={hub.pk: [coach.pk]},
        name="Early career coaching",
    )
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return {
        "ash": ash,
        "hub": hub,
        "teacher": teacher,
        "other_spoke": other_spoke,
        "coach": coach,
        "host": lambda site: f"http://{site.slug}.localhost:{port}",
    }


def test_a_teacher_shares_a_video_with_a_coach_who_plays_it(coaching, browser):
    from playwright.sync_api import expect

    context = browser.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.goto(f"{coaching['host'](coaching['ash'])}/sharing/resources/new/")
    sign_in(page, "teacher@ash.test")
    expect(page.get_by_role("heading", name="Add a resource")).to_be_visible()
    page.fill("#id_title", "Questioning in Year 5")
    page.set_input_files("#id_file", str(VIDEO))
    page.get_by_role("button", name="Add resource").click()
    expect(page.get_by_role("heading", name="Questioning in Year 5")).to_be_visible()

    picker = page.locator("#id_target")
    options = picker.locator("option").all_inner_texts()
    assert "Carl Coach (Northshire Teaching School Hub)" in options
    assert not any("Bernard" in option for option in options)  # the other spoke's teacher
    check_page(page, "sharing-01-teacher-picker")
    picker.select_option(label="Carl Coach (Northshire Teaching School Hub)")
    page.get_by_role("button", name="Share", exact=True).click()
    expect(page.locator("#shares")).to_contain_text("Carl Coach (Northshire Teaching School Hub)")

    coach_context = browser.new_context()
    coach_context.set_default_timeout(TIMEOUT_MS)
    coach_page = coach_context.new_page()
    coach_page.goto(f"{coaching['host'](coaching['hub'])}/sharing/resources/")
    sign_in(coach_page, "coach@hub.test")
    shared = coach_page.locator("#shared-with-me")
    expect(shared).to_contain_text("Questioning in Year 5")
    expect(shared).to_contain_text("Tara Teacher, Ash Primary")
    check_page(coach_page, "sharing-02-coach-shared-with-me")
    shared.get_by_role("link", name="Questioning in Year 5").click()
    expect(coach_page).to_have_url(re.compile(r"/sharing/resources/\d+/$"))
    played = coach_page.evaluate(
        """async () => {
            const video = document.querySelector('#player');
            video.muted = true;
            await video.play();
            await new Promise(resolve => setTimeout(resolve, 700));
            return {time: video.currentTime, ready: video.readyState, error: video.error};
        }"""
    )
    assert played["error"] is None and played["time"] > 0, played
    check_page(coach_page, "sharing-03-coach-plays")
    context.close()
    coach_context.close()
