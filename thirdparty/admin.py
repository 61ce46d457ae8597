"""Platform support registers third-party apps here: the app's facts and scopes, its
client credentials (the secret shown once, in the message after saving; only its hash is
kept), rotating the secret, suspending and reactivating. Every change goes through
``thirdparty.services``: a scope the registry does not know, or one both required and
optional, is refused with the reason; asking for more opens a request "for review" at each
school that authorised the app, the grant staying in force meanwhile."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from accounts.audit import actor_from_request

from .models import App, AppAuthorisation, AppStatus, DataAccessRequest
from .scopes import CONSENT_SCOPES, SCOPES
from .services import app_register, app_scopes_change, app_secret_rotate, app_status_set

SCOPE_CHOICES = [(code, SCOPES[code].label) for code in CONSENT_SCOPES]


class AppForm(forms.ModelForm):
    required_scopes = forms.MultipleChoiceField(
        choices=SCOPE_CHOICES, widget=forms.CheckboxSelectMultiple, required=False
    )
    optional_scopes = forms.MultipleChoiceField(
        choices=SCOPE_CHOICES, widget=forms.CheckboxSelectMultiple, required=False
    )

    class Meta:
        model = App
        fields = [
            "vendor",
            "name",
            "purpose",
            "website",
            "privacy_notice_url",
            "support_email",
            "required_scopes",
            "optional_scopes",
        ]

    def clean(self):
        cleaned = super().clean()
        both = set(cleaned.get("required_scopes") or ()) & set(cleaned.get("optional_scopes") or ())
        if both:
            raise ValidationError(
                "A scope cannot be both required and optional: "
                + ", ".join(SCOPES[c].label for c in sorted(both))
                + "."
            )
        return cleaned


def _credentials_message(request, app, credentials, what: str) -> None:
    messages.warning(
        request,
        f"{what} {app.name}: client id {credentials.client_id}, client secret "
        f"{credentials.client_secret}. Copy the secret now: it is shown only this once.",
    )


@admin.action(description="Make a new client secret (the old one stops working)")
def rotate_secret(modeladmin, request, queryset):
    for app in queryset:
        credentials = app_secret_rotate(app=app, actor=actor_from_request(request))
        _credentials_message(request, app, credentials, "New secret for")


@admin.action(description="Suspend (its calls are refused at once)")
def suspend(modeladmin, request, queryset):
    for app in queryset:
        app_status_set(app=app, status=AppStatus.SUSPENDED, actor=actor_from_request(request))
    messages.success(request, f"Suspended {queryset.count()} app(s).")


@admin.action(description="Reactivate")
def reactivate(modeladmin, request, queryset):
    for app in queryset:
        app_status_set(app=app, status=AppStatus.ACTIVE, actor=actor_from_request(request))
    messages.success(request, f"Reactivated {queryset.count()} app(s).")


@admin.register(App)
class AppAdmin(admin.ModelAdmin):
    form = AppForm
    list_display = ["name", "vendor", "status", "client_id", "created_at"]
    list_filter = ["status"]
    search_fields = ["name", "vendor"]
    list_select_related = ["oauth_client"]
    readonly_fields = ["status", "client_id"]
    actions = [rotate_secret, suspend, reactivate]

    @admin.display(description="Client id")
    def client_id(self, app: App) -> str:
        return app.oauth_client.client_id if app.oauth_client_id else ""

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        actor = actor_from_request(request)
        if not change:
            app, credentials = app_register(
                vendor=data["vendor"],
                name=data["name"],
                purpose=data["purpose"],
                website=data["website"],
                privacy_notice_url=data["privacy_notice_url"],
                support_email=data["support_email"],
                required_scopes=data["required_scopes"],
                optional_scopes=data["optional_scopes"],
                actor=actor,
            )
            obj.pk = app.pk
            _credentials_message(request, app, credentials, "Registered")
            return
        App.objects.filter(pk=obj.pk).update(
            **{
                name: data[name]
                for name in (
                    "vendor",
                    "name",
                    "purpose",
                    "website",
                    "privacy_notice_url",
                    "support_email",
                )
            }
        )
        opened = app_scopes_change(
            app=obj,
            required_scopes=data["required_scopes"],
            optional_scopes=data["optional_scopes"],
            actor=actor,
        )
        if opened:
            messages.info(request, f"{opened} school(s) were asked to review the new scopes.")

    def has_delete_permission(self, request, obj=None):
        return False  # apps are suspended, never deleted: the schools' history stays


@admin.register(DataAccessRequest)
class DataAccessRequestAdmin(admin.ModelAdmin):
    list_display = ["app", "school", "status", "origin", "created_at", "decided_at"]
    list_filter = ["status", "origin"]
    search_fields = ["app__name", "school__name", "school__urn"]
    list_select_related = ["app", "school"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AppAuthorisation)
class AppAuthorisationAdmin(DataAccessRequestAdmin):
    list_display = ["app", "school", "status", "authorised_at", "revoked_at"]
    list_filter = ["status"]
    search_fields = ["app__name", "school__name", "school__urn"]
