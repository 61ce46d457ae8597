"""Staff onboarding emails through the outbox: the invitation (a single-use link to set a
password) and the notice to an existing user that they were added to a site.

Accounts announces them (``accounts.staff.onboarding``: ``staff_invitation_sent``,
``staff_added_to_site``) and knows no outbox; the roof joins the two, as it does for the
password reset. A delivery holds ids only, never a token: the invitation's token is made
when its email is built (``invitation_link_issue``, which stores only its hash), so a
resend, whose delivery names the newer send, leaves every earlier email unbuildable and
every earlier link dead.
"""

import uuid
from collections.abc import Sequence

from django.dispatch import receiver
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from accounts.models import RoleAssignment, StaffInvitation, StaffProfile, User
from accounts.staff.onboarding import (
    invitation_link_issue,
    staff_added_to_site,
    staff_invitation_sent,
)
from accounts.two_factor.selectors import site_requires_two_factor
from notifications.builders import EmailContent, register_builder
from notifications.models import EmailDelivery
from notifications.services import OutgoingEmail, deliveries_enqueue

INVITATION_BUILDER = "accounts.staff-invitation"
ADDED_BUILDER = "accounts.staff-added"
INVITATION_KIND = "staff-invitation"
ADDED_KIND = "staff-added"


@receiver(staff_invitation_sent, dispatch_uid="portal.staff_emails.invitation")
def invitation_enqueue(sender, *, invitation: StaffInvitation, **kwargs):
    deliveries_enqueue(
        messages=[
            OutgoingEmail(
                site_id=invitation.site_id,
                address=invitation.profile.user.email,
                kind=INVITATION_KIND,
                topic=f"{INVITATION_KIND}:{invitation.pk}",
                dedupe_key=f"{INVITATION_KIND}:{invitation.pk}:{invitation.sends}",
                builder=INVITATION_BUILDER,
                params={"invitation_id": invitation.pk, "send": invitation.sends},
            )
        ]
    )


@receiver(staff_added_to_site, dispatch_uid="portal.staff_emails.added")
def added_enqueue(sender, *, profile: StaffProfile, added_by=None, **kwargs):
    deliveries_enqueue(
        messages=[
            OutgoingEmail(
                site_id=profile.site_id,
                address=profile.user.email,
                kind=ADDED_KIND,
                topic=f"{ADDED_KIND}:{profile.pk}",
                dedupe_key=f"{ADDED_KIND}:{profile.pk}:{uuid.uuid4().hex}",
                builder=ADDED_BUILDER,
                params={
                    "profile_id": profile.pk,
                    "added_by_id": added_by.pk if added_by is not None else None,
                },
            )
        ]
    )


def _role_names(profile: StaffProfile) -> list[str]:
    return list(
        RoleAssignment.objects.filter(site=profile.site, profile=profile)
        .order_by("role__name")
        .values_list("role__name", flat=True)
    )


def _content(template: str, context: dict) -> EmailContent:
    return EmailContent(
        subject=context["subject"],
        text=render_to_string(f"accounts/email/{template}.txt", context),
        html=render_to_string(f"accounts/email/{template}.html", context),
    )


@register_builder(INVITATION_BUILDER)
def invitation_emails(deliveries: Sequence[EmailDelivery]) -> dict[int, EmailContent]:
    """Each delivery's invitation with a link made now; none (recorded as failed) when a
    newer email was asked for, or the invitation was accepted, revoked or has expired."""
    contents = {}
    for delivery in deliveries:
        issued = invitation_link_issue(
            invitation_id=delivery.params.get("invitation_id"),
            send_number=delivery.params.get("send"),
        )
        if issued is None:
            continue
        invitation, token = issued
        person, site = invitation.profile.user, invitation.site
        if person.email != delivery.address.lower():
            continue
        inviter = invitation.invited_by
        expires = timezone.localtime(invitation.expires_at)
        contents[delivery.pk] = _content(
            "staff_invitation",
            {
                "subject": f"You are invited to {site.name} on matmis",
                "person": person,
                "site_name": site.name,
                "inviter": inviter.display_name if inviter else site.name,
                "job_title": invitation.profile.job_title,
                "roles": _role_names(invitation.profile),
                "link": site.url.rstrip("/")
                + reverse("accounts:invitation-accept", kwargs={"token": token}),
                "expires_at": date_format(expires, "j F Y, H:i"),
                "requires_two_factor": site_requires_two_factor(site=site),
            },
        )
    return contents


@register_builder(ADDED_BUILDER)
def added_emails(deliveries: Sequence[EmailDelivery]) -> dict[int, EmailContent]:
    """Each delivery's notice; none when the person no longer works at the site."""
    profiles = StaffProfile.objects.select_related("user", "site").in_bulk(
        {delivery.params.get("profile_id") for delivery in deliveries}
    )
    adders = User.objects.in_bulk({delivery.params.get("added_by_id") for delivery in deliveries})
    contents = {}
    for delivery in deliveries:
        adder = adders.get(delivery.params.get("added_by_id"))
        profile = profiles.get(delivery.params.get("profile_id"))
        if profile is None or not profile.is_active or profile.site_id != delivery.site_id:
            continue
        site = profile.site
        contents[delivery.pk] = _content(
            "staff_added",
            {
                "subject": f"You were added to {site.name} on matmis",
                "person": profile.user,
                "site_name": site.name,
                "site_url": site.url,
                "inviter": adder.display_name if adder else site.name,
                "job_title": profile.job_title,
                "roles": _role_names(profile),
                "requires_two_factor": site_requires_two_factor(site=site),
            },
        )
    return contents
