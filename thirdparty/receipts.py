"""Receipts: the email telling those concerned that a school authorised, declined, changed
or revoked an app's access.

Who gets one: everyone holding "Third-party Apps: Administer" at the school (active, with
an email address) and the app vendor's contact. Each names the app, the school, who decided
and in which role, when, and which scopes are granted after it. Queued in the transaction
that records the decision (one delivery per decision and recipient, sent for the school)
and made when sent, by the builder registered here, from the decision's id."""

from collections.abc import Sequence
from urllib.parse import urljoin

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from accounts.permissions import THIRD_PARTY_APPS, Access, permission_holders
from notifications.builders import EmailContent, register_builder
from notifications.models import EmailDelivery
from notifications.services import OutgoingEmail, deliveries_enqueue

from .models import AppDecision, DecisionAction
from .scopes import SCOPES

RECEIPT_EMAIL = "thirdparty.decision-receipt"
RECEIPT_KIND = "app-receipt"
VENDOR = "vendor"


def receipt_topic(decision_id: int) -> str:
    return f"app-decision-receipt:{decision_id}"


def receipts_enqueue(*, decision: AppDecision) -> None:
    """Queue the receipts of ``decision`` (see the module). Two queries: the holders, one
    insert."""
    holders = (
        permission_holders(site=decision.school, code=THIRD_PARTY_APPS, access=Access.ADMINISTER)
        .exclude(email="")
        .values_list("pk", "email")
    )
    messages = [
        OutgoingEmail(
            site_id=decision.school_id,
            address=email,
            kind=RECEIPT_KIND,
            dedupe_key=f"app-receipt:{decision.pk}:{user_id}",
            builder=RECEIPT_EMAIL,
            params={"decision_id": decision.pk, "user_id": user_id},
            topic=receipt_topic(decision.pk),
        )
        for user_id, email in holders
    ]
    messages.append(
        OutgoingEmail(
            site_id=decision.school_id,
            address=decision.app.support_email,
            kind=RECEIPT_KIND,
            dedupe_key=f"app-receipt:{decision.pk}:{VENDOR}",
            builder=RECEIPT_EMAIL,
            params={"decision_id": decision.pk, "user_id": None},
            topic=receipt_topic(decision.pk),
        )
    )
    deliveries_enqueue(messages=messages)


SUBJECT_VERB = {
    DecisionAction.AUTHORISED: "authorised",
    DecisionAction.DECLINED: "declined the request of",
    DecisionAction.CHANGED: "changed what it shares with",
    DecisionAction.REVOKED: "revoked",
}


def apps_page_url(*, decision: AppDecision) -> str:
    path = reverse("school_apps:index", urlconf=settings.ROOT_URLCONF)
    return urljoin(decision.school.url, path)


def receipt_content(*, decision: AppDecision, recipient: User | None) -> EmailContent:
    at = timezone.localtime(decision.at)
    context = {
        "d": decision,
        "recipient_name": recipient.display_name if recipient else decision.app.vendor,
        "to_vendor": recipient is None,
        "verb": SUBJECT_VERB[decision.action],
        "scopes": [SCOPES[code] for code in decision.scopes if code in SCOPES],
        "decider": decision.actor.display_name if decision.actor else "matmis",
        "decided_at": f"{at:%-d %B %Y at %H:%M}",
        "link": "" if recipient is None else apps_page_url(decision=decision),
        "site_name": decision.school.name,
    }
    return EmailContent(
        subject=f"{decision.school.name} {context['verb']} {decision.app.name}",
        text=render_to_string("thirdparty/email/receipt.txt", context),
        html=render_to_string("thirdparty/email/receipt.html", context),
    )


@register_builder(RECEIPT_EMAIL)
def decision_receipt_emails(deliveries: Sequence[EmailDelivery]) -> dict[int, EmailContent]:
    decision_ids = {delivery.params.get("decision_id") for delivery in deliveries}
    user_ids = {delivery.params.get("user_id") for delivery in deliveries} - {None}
    decisions = {
        decision.pk: decision
        for decision in AppDecision.objects.filter(pk__in=decision_ids).select_related(
            "app", "school", "actor"
        )
    }
    users = {user.pk: user for user in User.objects.filter(pk__in=user_ids)}
    contents = {}
    for delivery in deliveries:
        decision = decisions.get(delivery.params.get("decision_id"))
        user_id = delivery.params.get("user_id")
        user = users.get(user_id) if user_id is not None else None
        if decision is None or (user_id is not None and user is None):
            continue  # gone: the outbox records it as failed, saying so
        contents[delivery.pk] = receipt_content(decision=decision, recipient=user)
    return contents
