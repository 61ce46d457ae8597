"""The one check in front of every site page and API endpoint, always in this order:

1. **kind**: the page exists on this kind of host (a group's site, a school's site, the
   platform's bare domain), otherwise 404: an outsider learns nothing from the answer;
2. **signed in** at this host;
3. **site access and two-factor**: an active staff profile here (or a live Log in to MIS
   hop, or platform staff on the bare domain), past two-factor sign-in where it applies;
4. **permission**: the one the view declares for the request's method, by name when it
   is missing (403).

``matmis.views.SitePageView`` and ``matmis.api.SiteApiView`` turn the verdict into a page
or an API error; both declare ``site_kind`` and ``method_permissions`` and cannot override
the methods that run the check (``SiteCheckedView``).
"""

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest

from accounts.permissions import (
    REGISTRY,
    Access,
    Gate,
    has_permission,
    person_site_gate,
    request_has_permission,
    request_site_gate,
)
from institutions.models import Institution


class SiteKind(enum.StrEnum):
    GROUP = "group"
    SCHOOL = "school"
    PLATFORM = "platform"


ANY_SITE = frozenset({SiteKind.GROUP, SiteKind.SCHOOL})
# Every host: a site's and the platform's bare domain (pages such as the privacy notice).
EVERY_HOST = frozenset(SiteKind)

KIND_PHRASES = {
    SiteKind.GROUP: "a trust's or local authority's site",
    SiteKind.SCHOOL: "a school's site",
    SiteKind.PLATFORM: "the platform's own address",
}

# What a method needs beyond site access: a permission code at a level, or None for any
# staff member of the site.
Requirement = tuple[str, Access] | None

READ_METHODS = ("GET", "HEAD", "OPTIONS")
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


def site_kind_of(site: Institution | None) -> SiteKind:
    if site is None:
        return SiteKind.PLATFORM
    return SiteKind.GROUP if site.is_group else SiteKind.SCHOOL


def request_site_kind(request: HttpRequest) -> SiteKind:
    return site_kind_of(getattr(request, "site", None))


class Outcome(enum.Enum):
    ALLOWED = "allowed"
    NOT_FOUND = "not_found"  # wrong kind of host
    SIGN_IN = "sign_in"  # not signed in here
    NO_ACCESS = "no_access"  # signed in, but not staff of this site
    SIGN_IN_AGAIN = "sign_in_again"  # has two-factor, this session never gave a code
    ENROL = "enrol"  # the site requires two-factor and the person has none yet
    FORBIDDEN = "forbidden"  # staff of the site without the permission


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    message: str = ""

    @property
    def allowed(self) -> bool:
        return self.outcome is Outcome.ALLOWED


ALLOWED = Verdict(Outcome.ALLOWED)


def missing_permission_message(code: str, access: Access) -> str:
    return f"You need the permission “{REGISTRY[code].label}” at {access.label}."


def site_request_verdict(
    request: HttpRequest,
    *,
    kinds: frozenset[SiteKind],
    requirement: Requirement,
    enrolment_allowed: bool = False,
    recheck_two_factor: bool = False,
) -> Verdict:
    """The four checks above, in order; the first that fails decides.

    ``enrolment_allowed``: a page for setting up two-factor sign-in, open to someone a site
    requires it of; ``recheck_two_factor``: see ``accounts.permissions.request_site_gate``.
    """
    return _verdict_in_order(
        kind=request_site_kind(request),
        kinds=kinds,
        requirement=requirement,
        enrolment_allowed=enrolment_allowed,
        signed_in=lambda: request.user.is_authenticated,
        gate=lambda: request_site_gate(request, recheck_two_factor=recheck_two_factor),
        holds=lambda code, access: request_has_permission(request, code, access),
    )


def person_site_verdict(
    *,
    site: Institution,
    user: AbstractBaseUser,
    kinds: frozenset[SiteKind],
    requirement: Requirement,
    enrolment_allowed: bool = False,
) -> Verdict:
    """What ``site_request_verdict`` answers ``user`` at ``site`` once signed in on their
    own staff profile with every factor they have: the same checks in the same order,
    asked of the person instead of a request (the "check access to a page" tool)."""
    return _verdict_in_order(
        kind=site_kind_of(site),
        kinds=kinds,
        requirement=requirement,
        enrolment_allowed=enrolment_allowed,
        signed_in=lambda: user.is_active,
        gate=lambda: person_site_gate(user=user, site=site),
        holds=lambda code, access: has_permission(user=user, site=site, code=code, access=access),
    )


def _verdict_in_order(
    *,
    kind: SiteKind,
    kinds: frozenset[SiteKind],
    requirement: Requirement,
    enrolment_allowed: bool,
    signed_in: Callable[[], bool],
    gate: Callable[[], Gate | None],
    holds: Callable[[str, Access], bool],
) -> Verdict:
    if kind not in kinds:
        wanted = " or ".join(KIND_PHRASES[k] for k in sorted(kinds))
        return Verdict(Outcome.NOT_FOUND, f"Only {wanted} has this page.")
    if not signed_in():
        return Verdict(Outcome.SIGN_IN, "Sign in to use this site.")
    site_gate = gate()
    if site_gate is None:
        return Verdict(Outcome.NO_ACCESS, "You do not have access to this site.")
    if site_gate is Gate.SIGN_IN_AGAIN:
        return Verdict(
            Outcome.SIGN_IN_AGAIN, "Sign in again with your two-factor code to use this site."
        )
    if site_gate is Gate.ENROL and not enrolment_allowed:
        return Verdict(
            Outcome.ENROL, "This site requires two-factor sign-in. Set it up to use this site."
        )
    if requirement is not None and not holds(*requirement):
        return Verdict(Outcome.FORBIDDEN, missing_permission_message(*requirement))
    return ALLOWED


class SiteCheckedView:
    """What ``SitePageView`` and ``SiteApiView`` share: the declarations and the guard.

    A concrete view declares ``site_kind`` (a ``SiteKind`` or a set of them) and
    ``method_permissions``, one entry per HTTP method it handles (HEAD and OPTIONS follow
    GET). A handler without an entry, an unknown permission code, or a subclass that
    overrides one of ``check_methods`` is refused when the class is created, so that a new
    page or endpoint cannot skip a check or get one by default.
    """

    site_kind: SiteKind | frozenset[SiteKind] | None = None
    method_permissions: Mapping[str, Requirement] = {}
    # A page for setting up two-factor sign-in, usable before one is set up.
    two_factor_setup_page = False
    # A page managing one's own two-factor sign-in: a code must have been used this session.
    two_factor_recheck = False
    # Open to anyone on the right kind of host, signed in or not (its own credential, such
    # as a single-use token, is checked by its handler); every method must need nothing.
    public = False
    # Set by the two bases: the methods that run the check, which no subclass may replace.
    check_methods: tuple[str, ...] = ()
    _check_owner: type | None = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        owner = cls._check_owner
        if owner is None:
            return
        for name in owner.check_methods:
            if getattr(cls, name) is not getattr(owner, name):
                raise TypeError(
                    f"{cls.__qualname__} overrides {name}(), which runs the site check of "
                    f"{owner.__name__}: declare site_kind and method_permissions instead."
                )
        handled = [
            method.upper()
            for method in ("get", "post", "put", "patch", "delete")
            if callable(getattr(cls, method, None))
        ]
        if not handled:
            return  # an abstract base of other views
        if cls.site_kind is None:
            raise TypeError(f"{cls.__qualname__} must declare its site_kind.")
        for method, requirement in cls.method_permissions.items():
            if method not in READ_METHODS + WRITE_METHODS:
                raise TypeError(f"{cls.__qualname__}: {method!r} is not an HTTP method.")
            if requirement is not None:
                code, access = requirement
                if code not in REGISTRY or not isinstance(access, Access):
                    raise TypeError(f"{cls.__qualname__}: unknown permission {requirement!r}.")
        if cls.public and any(r is not None for r in cls.method_permissions.values()):
            raise TypeError(f"{cls.__qualname__} is public: it cannot need a permission.")
        missing = [method for method in handled if method not in cls.method_permissions]
        if missing:
            raise TypeError(
                f"{cls.__qualname__} handles {', '.join(missing)} without saying what it "
                "needs: add them to method_permissions (None: any staff of the site)."
            )

    @classmethod
    def site_kinds(cls) -> frozenset[SiteKind]:
        kind = cls.site_kind
        return frozenset({kind}) if isinstance(kind, SiteKind) else frozenset(kind or ())

    @classmethod
    def method_requirement(cls, method: str) -> Requirement:
        """What ``method`` needs beyond site access (HEAD and OPTIONS follow GET)."""
        method = method.upper()
        if method in ("HEAD", "OPTIONS") and method not in cls.method_permissions:
            method = "GET"
        return cls.method_permissions.get(method)

    def requirement_for(self, method: str) -> Requirement:
        return self.method_requirement(method)

    def site_verdict(self, request: HttpRequest) -> Verdict:
        if self.public:
            return self._public_verdict(request_site_kind(request))
        return site_request_verdict(
            request,
            kinds=self.site_kinds(),
            requirement=self.requirement_for(request.method),
            enrolment_allowed=self.two_factor_setup_page,
            recheck_two_factor=self.two_factor_recheck,
        )

    @classmethod
    def person_verdict(
        cls, *, site: Institution, user: AbstractBaseUser, method: str = "GET"
    ) -> Verdict:
        """``site_verdict`` for ``user`` at ``site`` (see ``person_site_verdict``)."""
        if cls.public:
            return cls._public_verdict(site_kind_of(site))
        return person_site_verdict(
            site=site,
            user=user,
            kinds=cls.site_kinds(),
            requirement=cls.method_requirement(method),
            enrolment_allowed=cls.two_factor_setup_page,
        )

    @classmethod
    def _public_verdict(cls, kind: SiteKind) -> Verdict:
        if kind not in cls.site_kinds():
            return Verdict(Outcome.NOT_FOUND, "Not on this kind of site.")
        return ALLOWED
