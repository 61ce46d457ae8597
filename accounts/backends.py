from django.contrib.auth.backends import ModelBackend

from .permissions import may_access_site


class SiteStaffBackend(ModelBackend):
    """Email and password, accepted only where the person may use the request's site.

    A right password at a site where the person has no profile fails exactly like a wrong
    one, so the sign-in form never reveals who works where.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None or request is None:
            return None
        if not may_access_site(user=user, site=getattr(request, "site", None)):
            return None
        return user
