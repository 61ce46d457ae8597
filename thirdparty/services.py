"""Writes of third-party apps: registering an app and its credentials, and a school's
decisions on its Data Access Requests.

Every decision (authorise, decline, change, revoke) is validated before anything is saved,
made under a row lock, recorded as an ``AppDecision`` (the history) and an audit event in
the same transaction, and queues its receipts through the outbox (``receipts``)."""

import secrets
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application

from accounts import audit
from accounts.audit import Actor
from accounts.models import AuditAction
from accounts.permissions import THIRD_PARTY_APPS, Access, permission_grants
from institutions.models import Institution

from .models import (
    App,
    AppAuthorisation,
    AppDecision,
    AppStatus,
    AuthorisationStatus,
    DataAccessRequest,
    DecisionAction,
    RequestOrigin,
    RequestStatus,
)
from .receipts import receipts_enqueue
from .scopes import SCOPES, UnknownScope, scope_labels, scopes_in_order

# --- Apps and their credentials --------------------------------------------------------------


def app_scopes_clean(*, required: list[str], optional: list[str]) -> tuple[list[str], list[str]]:
    """The scopes an app asks for, in the registry's order; a ValidationError naming the
    problem for an unknown scope, one both required and optional, or none required."""
    errors = {}
    try:
        required = scopes_in_order(required)
    except UnknownScope as error:
        errors["required_scopes"] = [f"Not a scope an app can ask for: {error}."]
    try:
        optional = scopes_in_order(optional)
    except UnknownScope as error:
        errors["optional_scopes"] = [f"Not a scope an app can ask for: {error}."]
    if errors:
        raise ValidationError(errors)
    both = set(required) & set(optional)
    if both:
        raise ValidationError(
            {
                "optional_scopes": [
                    "A scope cannot be both required and optional: "
                    + ", ".join(scope_labels(scopes_in_order(both)))
                    + "."
                ]
            }
        )
    return required, optional


@dataclass(frozen=True)
class Credentials:
    client_id: str
    client_secret: str  # shown once: only its hash is stored


def _new_secret() -> str:
    return secrets.token_urlsafe(36)


@transaction.atomic
def app_register(
    *,
    vendor: str,
    name: str,
    purpose: str,
    website: str,
    privacy_notice_url: str,
    support_email: str,
    required_scopes: list[str],
    optional_scopes: list[str],
    actor: Actor,
) -> tuple[App, Credentials]:
    """Register an app with its OAuth2 client (client credentials only). The secret is in
    the answer and nowhere else."""
    required, optional = app_scopes_clean(required=required_scopes, optional=optional_scopes)
    secret = _new_secret()
    client = Application(
        name=f"{vendor}: {name}"[:255],
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
        client_secret=secret,  # hashed as it is saved
        hash_client_secret=True,
    )
    client.save()
    app = App(
        oauth_client=client,
        vendor=vendor,
        name=name,
        purpose=purpose,
        website=website,
        privacy_notice_url=privacy_notice_url,
        support_email=support_email,
        required_scopes=required,
        optional_scopes=optional,
    )
    app.full_clean(exclude=["oauth_client"])
    app.save()
    return app, Credentials(client_id=client.client_id, client_secret=secret)


@transaction.atomic
def app_secret_rotate(*, app: App, actor: Actor) -> Credentials:
    """A new secret for ``app`` (shown once); the old one and every token stop working."""
    client = Application.objects.select_for_update().get(pk=app.oauth_client_id)
    secret = _new_secret()
    client.client_secret = secret
    client.save(update_fields=["client_secret", "updated"])
    AccessToken.objects.filter(application=client).delete()
    return Credentials(client_id=client.client_id, client_secret=secret)


@transaction.atomic
def app_status_set(*, app: App, status: AppStatus, actor: Actor) -> None:
    """Suspend or reactivate ``app``. A suspended app's tokens are deleted too (its calls
    are refused at once either way: ``thirdparty.oauth``)."""
    App.objects.filter(pk=app.pk).update(status=status)
    app.status = status
    if status == AppStatus.SUSPENDED:
        AccessToken.objects.filter(application_id=app.oauth_client_id).delete()


@transaction.atomic
def app_scopes_change(
    *, app: App, required_scopes: list[str], optional_scopes: list[str], actor: Actor
) -> int:
    """Change what ``app`` asks for. Where it asks for more than a school granted or was
    offered, the school gets a new request "for review"; the current grant stays in force
    until the school decides. Returns how many requests were opened."""
    required, optional = app_scopes_clean(required=required_scopes, optional=optional_scopes)
    App.objects.filter(pk=app.pk).update(required_scopes=required, optional_scopes=optional)
    app.required_scopes, app.optional_scopes = required, optional
    opened = 0
    authorisations = AppAuthorisation.objects.filter(
        app=app, status=AuthorisationStatus.ACTIVE
    ).select_related("school")
    for authorisation in authorisations:
        if _asks_for_more(app=app, authorisation=authorisation):
            _, created = _pending_request(app=app, school=authorisation.school, origin="app")
            opened += created
    return opened


def _asks_for_more(*, app: App, authorisation: AppAuthorisation | None) -> bool:
    if authorisation is None or not authorisation.is_active:
        return True
    offered = set(authorisation.required_scopes) | set(authorisation.offered_optional)
    return not (set(app.required_scopes) | set(app.optional_scopes)) <= offered or not set(
        app.required_scopes
    ) <= set(authorisation.required_scopes)


# --- Data Access Requests --------------------------------------------------------------------


@dataclass(frozen=True)
class RequestOutcome:
    request: DataAccessRequest | None
    created: bool
    message: str


def _pending_request(
    *, app: App, school: Institution, origin: str
) -> tuple[DataAccessRequest, bool]:
    existing = DataAccessRequest.objects.filter(
        app=app, school=school, status=RequestStatus.PENDING
    ).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            return DataAccessRequest.objects.create(
                app=app,
                school=school,
                origin=origin,
                required_scopes=list(app.required_scopes),
                optional_scopes=list(app.optional_scopes),
            ), True
    except IntegrityError:  # another request opened it meanwhile: one pending per pair
        return DataAccessRequest.objects.get(
            app=app, school=school, status=RequestStatus.PENDING
        ), False


@transaction.atomic
def access_request_open(
    *, app: App, school: Institution, origin: RequestOrigin, actor: Actor | None = None
) -> RequestOutcome:
    """``app`` asks ``school`` (by URN through its API, or the school connects from its
    directory): one pending request per (app, school). Nothing new when the school already
    granted or was offered everything the app asks for."""
    if not app.is_active:
        raise ValidationError("This app is suspended: it cannot ask schools for data.")
    if not school.is_school or not school.is_current:
        raise ValidationError("Only an open school can be asked.")
    authorisation = AppAuthorisation.objects.filter(app=app, school=school).first()
    if not _asks_for_more(app=app, authorisation=authorisation):
        return RequestOutcome(None, False, "The school has already decided on these scopes.")
    request, created = _pending_request(app=app, school=school, origin=origin)
    if created and actor is not None and actor.user is not None:
        audit.record(
            actor=actor,
            action=AuditAction.APP_CONNECTION_REQUESTED,
            target=str(app),
            detail={"app_id": app.pk, "request_id": request.pk},
            site=school,
        )
    message = "Request sent to the school." if created else "A request is already waiting."
    return RequestOutcome(request, created, message)


def _decider_roles(*, actor: Actor, school: Institution) -> str:
    if actor.user is None:
        return ""
    names = (
        permission_grants(user=actor.user, site=school, code=THIRD_PARTY_APPS)
        .filter(access__gte=int(Access.ADMINISTER))
        .values_list("role__name", flat=True)
        .distinct()
        .order_by("role__name")
    )
    return ", ".join(names)


def _decision(
    *,
    app: App,
    school: Institution,
    action: DecisionAction,
    scopes: list[str],
    actor: Actor,
    request: DataAccessRequest | None = None,
) -> AppDecision:
    decision = AppDecision.objects.create(
        app=app,
        school=school,
        request=request,
        action=action,
        scopes=scopes,
        actor=actor.user,
        actor_roles=_decider_roles(actor=actor, school=school)[:255],
    )
    audit_action = {
        DecisionAction.AUTHORISED: AuditAction.APP_AUTHORISED,
        DecisionAction.DECLINED: AuditAction.APP_DECLINED,
        DecisionAction.CHANGED: AuditAction.APP_SCOPES_CHANGED,
        DecisionAction.REVOKED: AuditAction.APP_REVOKED,
    }[action]
    audit.record(
        actor=actor,
        action=audit_action,
        target=str(app),
        detail={"app_id": app.pk, "scopes": scopes},
        site=school,
    )
    receipts_enqueue(decision=decision)
    return decision


def _locked_pending(request: DataAccessRequest) -> DataAccessRequest:
    locked = (
        DataAccessRequest.objects.select_for_update()
        .select_related("app", "school")
        .get(pk=request.pk)
    )
    if locked.status != RequestStatus.PENDING:
        raise ValidationError(
            f"This request is already {locked.get_status_display().lower()}: nothing changed."
        )
    return locked


def grant_clean(
    *, request: DataAccessRequest, required_scopes: list[str], optional_scopes: list[str]
) -> list[str]:
    """The optional scopes a school ticks, checked against ``request``: every required
    scope must be there (they are locked), and nothing the request did not offer."""
    required, optional = set(required_scopes), set(optional_scopes)
    missing = set(request.required_scopes) - required
    if missing:
        raise ValidationError(
            {
                "required_scopes": [
                    "Every required scope is part of the grant; missing: "
                    + ", ".join(scope_labels(scopes_in_order(missing & set(SCOPES))))
                    + "."
                ]
            }
        )
    unrequested = (required - set(request.required_scopes)) | (
        optional - set(request.optional_scopes)
    )
    if unrequested:
        raise ValidationError(
            {
                "optional_scopes": [
                    "These were not asked for by the app: "
                    + ", ".join(sorted(str(code) for code in unrequested))
                    + "."
                ]
            }
        )
    return [code for code in request.optional_scopes if code in optional]


@transaction.atomic
def request_authorise(
    *,
    request: DataAccessRequest,
    required_scopes: list[str],
    optional_scopes: list[str],
    actor: Actor,
) -> AppAuthorisation:
    """Authorise ``request``: the grant is exactly its required scopes plus the ticked
    optional ones (a ValidationError, changing nothing, otherwise). One authorisation per
    (app, school), however many approve at once: the request's row lock orders them and
    the second finds it decided."""
    request = _locked_pending(request)
    optional = grant_clean(
        request=request, required_scopes=required_scopes, optional_scopes=optional_scopes
    )
    now = timezone.now()
    values = {
        "status": AuthorisationStatus.ACTIVE,
        "required_scopes": list(request.required_scopes),
        "optional_scopes": optional,
        "offered_optional": list(request.optional_scopes),
        "changed_at": now,
        "revoked_at": None,
    }
    authorisation = (
        AppAuthorisation.objects.select_for_update()
        .filter(app=request.app, school=request.school)
        .first()
    )
    if authorisation is None:
        authorisation = AppAuthorisation.objects.create(
            app=request.app, school=request.school, authorised_at=now, **values
        )
    else:
        for name, value in values.items():
            setattr(authorisation, name, value)
        authorisation.authorised_at = now
        authorisation.save(update_fields=[*values, "authorised_at"])
    request.status = RequestStatus.AUTHORISED
    request.decided_at = now
    request.decided_by = actor.user
    request.granted_scopes = authorisation.scopes
    request.save(update_fields=["status", "decided_at", "decided_by", "granted_scopes"])
    _decision(
        app=request.app,
        school=request.school,
        action=DecisionAction.AUTHORISED,
        scopes=authorisation.scopes,
        actor=actor,
        request=request,
    )
    return authorisation


@transaction.atomic
def request_decline(*, request: DataAccessRequest, actor: Actor) -> None:
    """Decline ``request``. A grant already in force (when the app asked for more) stays
    as it is; the app may ask again later, which opens a new request."""
    request = _locked_pending(request)
    request.status = RequestStatus.DECLINED
    request.decided_at = timezone.now()
    request.decided_by = actor.user
    request.save(update_fields=["status", "decided_at", "decided_by"])
    current = AppAuthorisation.objects.filter(app=request.app, school=request.school).first()
    _decision(
        app=request.app,
        school=request.school,
        action=DecisionAction.DECLINED,
        scopes=current.scopes if current is not None else [],
        actor=actor,
        request=request,
    )


def _locked_active(authorisation: AppAuthorisation) -> AppAuthorisation:
    locked = (
        AppAuthorisation.objects.select_for_update()
        .select_related("app", "school")
        .get(pk=authorisation.pk)
    )
    if not locked.is_active:
        raise ValidationError("This app is not authorised any more: nothing changed.")
    return locked


@transaction.atomic
def authorisation_change(
    *, authorisation: AppAuthorisation, optional_scopes: list[str], actor: Actor
) -> AppAuthorisation:
    """Change the optional scopes of a grant in force, in place (no revoke and
    re-authorise): only among those the school was offered."""
    authorisation = _locked_active(authorisation)
    unoffered = set(optional_scopes) - set(authorisation.offered_optional)
    if unoffered:
        raise ValidationError(
            {
                "optional_scopes": [
                    "Only the optional scopes the app asked for can be granted: "
                    + ", ".join(sorted(str(code) for code in unoffered))
                    + " cannot."
                ]
            }
        )
    optional = [code for code in authorisation.offered_optional if code in set(optional_scopes)]
    if optional == authorisation.optional_scopes:
        raise ValidationError("Nothing changed: these are the optional scopes granted now.")
    authorisation.optional_scopes = optional
    authorisation.changed_at = timezone.now()
    authorisation.save(update_fields=["optional_scopes", "changed_at"])
    _decision(
        app=authorisation.app,
        school=authorisation.school,
        action=DecisionAction.CHANGED,
        scopes=authorisation.scopes,
        actor=actor,
    )
    return authorisation


@transaction.atomic
def authorisation_revoke(*, authorisation: AppAuthorisation, actor: Actor) -> None:
    """End the app's access to the school: its next call is refused. The authorisation
    stays as history; a pending request for more is closed with it."""
    authorisation = _locked_active(authorisation)
    now = timezone.now()
    authorisation.status = AuthorisationStatus.REVOKED
    authorisation.revoked_at = now
    authorisation.changed_at = now
    authorisation.save(update_fields=["status", "revoked_at", "changed_at"])
    DataAccessRequest.objects.filter(
        app=authorisation.app, school=authorisation.school, status=RequestStatus.PENDING
    ).update(status=RequestStatus.SUPERSEDED, decided_at=now, decided_by=actor.user)
    _decision(
        app=authorisation.app,
        school=authorisation.school,
        action=DecisionAction.REVOKED,
        scopes=[],
        actor=actor,
    )
