from contextlib import suppress

from django.urls import NoReverseMatch, reverse

from .navigation import nav_for


def layout(request):
    """What ``templates/base.html`` needs on every page."""
    site = getattr(request, "site", None)
    urlconf = getattr(request, "urlconf", None)
    sign_in_url = sign_out_url = account_url = None
    if site is not None:
        try:
            sign_in_url = reverse("accounts:sign-in", urlconf=urlconf)
            sign_out_url = reverse("accounts:sign-out", urlconf=urlconf)
        except NoReverseMatch:
            pass
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        # The person's own account (two-factor sign-in, backup codes), on a site's host and
        # on the platform's alike.
        with suppress(NoReverseMatch):
            account_url = reverse("accounts:two-factor", urlconf=urlconf)
    return {
        "nav_items": nav_for(request) if user is not None else [],
        "sign_in_url": sign_in_url,
        "sign_out_url": sign_out_url,
        "account_url": account_url,
        "hop_banner": getattr(request, "hop_banner", None),
    }
