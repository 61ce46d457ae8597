"""The site's sign-in with Microsoft or Google over REST: /api/v1/security/sign-in-provider/
(read; replace with PUT). Both need "User Details: Manage All Users" at Administer, as the
Security settings page does."""

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers
from rest_framework.response import Response

from accounts.audit import actor_from_request
from accounts.identity.provider import accepted_domains
from accounts.permissions import USER_DETAILS, Access
from matmis.api import ErrorSerializer, SiteApiView
from matmis.site_access import ANY_SITE

from .forms import SignInProviderForm
from .selectors import security_policy_for
from .services import sign_in_provider_update

MANAGE_SECURITY = (USER_DETAILS, Access.ADMINISTER)


class SignInProviderSerializer(serializers.Serializer):
    provider = serializers.CharField(
        allow_blank=True, help_text="'microsoft', 'google', or blank for none."
    )
    domains = serializers.ListField(
        child=serializers.CharField(), help_text="Email domains accepted from the provider."
    )
    accept_provider_mfa = serializers.BooleanField(
        help_text="The provider's multi-factor sign-in (amr 'mfa') stands for the site's own."
    )


def _offered() -> dict[str, str]:
    return {
        key: config["name"]
        for key, config in settings.SIGN_IN_PROVIDERS.items()
        if config.get("client_id")
    }


def _current(site) -> dict:
    policy = security_policy_for(site=site)
    return {
        "provider": policy.sign_in_provider,
        "domains": accepted_domains(policy.sign_in_domains),
        "accept_provider_mfa": policy.accept_provider_mfa,
    }


class SignInProviderApiView(SiteApiView):
    """Sign-in with Microsoft or Google at this site."""

    site_kind = ANY_SITE
    method_permissions = {"GET": MANAGE_SECURITY, "PUT": MANAGE_SECURITY}

    @extend_schema(
        operation_id="security_sign_in_provider_retrieve",
        responses={200: SignInProviderSerializer, 403: ErrorSerializer},
    )
    def get(self, request):
        return Response(_current(request.site))

    @extend_schema(
        operation_id="security_sign_in_provider_update",
        request=SignInProviderSerializer,
        responses={200: SignInProviderSerializer, 400: ErrorSerializer, 403: ErrorSerializer},
    )
    def put(self, request):
        data = SignInProviderSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        form = SignInProviderForm(
            {
                "provider": values["provider"],
                "domains": "\n".join(values["domains"]),
                "accept_provider_mfa": values["accept_provider_mfa"],
            },
            offered=_offered(),
        )
        if not form.is_valid():
            raise exceptions.ValidationError(
                {name: list(messages) for name, messages in form.errors.items()}
            )
        sign_in_provider_update(
            site=request.site,
            provider=form.cleaned_data["provider"],
            domains=form.cleaned_data.get("domain_list", []),
            accept_provider_mfa=form.cleaned_data["accept_provider_mfa"],
            actor=actor_from_request(request),
        )
        return Response(_current(request.site))
