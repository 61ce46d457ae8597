"""“Check access to a page”: may a person of this site open a page of it, and which
permission decides?

The answer comes from the page's own declarations (``site_kind`` and
``method_permissions``) put through ``SiteCheckedView.person_verdict``, the very checks, in
the very order, that ``matmis.site_access`` applies to every request: the tool cannot
disagree with what the person gets. What a page decides about one record on top of that
(another site's id, a record that is not there) is not part of the answer.
"""

import dataclasses
import enum
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.http.request import split_domain_port
from django.urls import Resolver404, resolve

from accounts.models import User
from accounts.permissions import REGISTRY, Access, access_level
from institutions.models import Institution
from matmis.site_access import Outcome, Requirement, SiteCheckedView, Verdict


class Answer(enum.Enum):
    MAY_OPEN = "may_open"
    MAY_NOT_OPEN = "may_not_open"
    OPEN_TO_EVERYONE = "open_to_everyone"  # signing in, password reset...: no check at all
    NO_SUCH_PAGE = "no_such_page"
    OTHER_HOST = "other_host"
    NOT_AN_ADDRESS = "not_an_address"


@dataclass(frozen=True)
class PageAccess:
    answer: Answer
    message: str
    path: str = ""
    view_name: str = ""
    # The permission the page needs for GET, and the level the person holds of it.
    requirement: Requirement = None
    held: Access | None = None
    outcome: Outcome | None = None  # the site check's verdict, when it was asked

    @property
    def may_open(self) -> bool | None:
        """True or False for a page of this site; None when there is no such page."""
        if self.answer in (Answer.MAY_OPEN, Answer.OPEN_TO_EVERYONE):
            return True
        if self.answer is Answer.MAY_NOT_OPEN:
            return False
        return None

    @property
    def permission_label(self) -> str:
        return REGISTRY[self.requirement[0]].label if self.requirement else ""


# A pasted address that starts with a host name (with dots, or with a port), not a path.
_HOST_FIRST = re.compile(
    r"^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+\.?(:[0-9]+)?(/|$)|^[A-Za-z0-9-]+:[0-9]+(/|$)"
)
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def _split(url: str) -> tuple[str, str] | None:
    """(host, path) of a pasted address; host "" for a bare path; None if it is no address."""
    text = (url or "").strip()
    if not text or any(character.isspace() for character in text):
        return None
    if "://" not in text and not text.startswith("/"):
        if _HOST_FIRST.match(text):
            text = f"//{text}"  # “oak.example.org:8000/staff/”: a host, then a path
        elif _SCHEME.match(text):
            return None  # “javascript:…”, “mailto:…”: not a page's address
        else:
            text = f"/{text}"  # “staff/roles/”: a path
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    if parts.scheme and parts.scheme not in ("http", "https"):
        return None
    return (parts.hostname or "").lower(), parts.path or "/"


def page_access(
    *, site: Institution, host: str, url: str, user: User, urlconf: str | None = None
) -> PageAccess:
    """May ``user`` (a person of ``site``) open ``url`` with GET, where ``host`` is this
    site's host (the address the tool itself was asked at)?"""
    split = _split(url)
    if split is None:
        return PageAccess(
            Answer.NOT_AN_ADDRESS,
            "Paste the address of a page of this site, such as /staff/ or the full address "
            "from the browser.",
        )
    pasted_host, path = split
    own_host = split_domain_port(host)[0].lower().rstrip(".")
    if pasted_host and pasted_host.rstrip(".") != own_host:
        return PageAccess(
            Answer.OTHER_HOST,
            f"That address is on {pasted_host}, not on this site ({own_host}). This tool "
            f"answers for {site.name}’s pages only: paste an address of this site.",
            path=path,
        )
    match = None
    for candidate in (path, path if path.endswith("/") else f"{path}/"):
        try:
            match = resolve(candidate, urlconf=urlconf)
        except Resolver404:
            continue
        path = candidate
        break
    if match is None:
        return PageAccess(
            Answer.NO_SUCH_PAGE, f"No page of this site has the address {path}.", path
        )
    view_class = getattr(match.func, "view_class", None) or getattr(match.func, "cls", None)
    name = match.view_name
    if view_class is None or not issubclass(view_class, SiteCheckedView):
        return PageAccess(
            Answer.OPEN_TO_EVERYONE,
            f"{path} is open to everyone, signed in or not (such as signing in or resetting "
            "a password): no permission decides.",
            path,
            name,
        )
    verdict = view_class.person_verdict(site=site, user=user, method="GET")
    return _answer(view_class, verdict, site=site, user=user, path=path, name=name)


def _answer(
    view_class: type[SiteCheckedView],
    verdict: Verdict,
    *,
    site: Institution,
    user: User,
    path: str,
    name: str,
) -> PageAccess:
    person = user.display_name
    if view_class.public and verdict.allowed:
        return PageAccess(
            Answer.OPEN_TO_EVERYONE,
            f"{path} is open to everyone, signed in or not: its link carries its own "
            "credential. No permission decides.",
            path,
            name,
            outcome=verdict.outcome,
        )
    if verdict.outcome is Outcome.NOT_FOUND:
        return PageAccess(
            Answer.NO_SUCH_PAGE,
            f"No page of this site has the address {path}. {verdict.message}",
            path,
            name,
            outcome=verdict.outcome,
        )
    requirement = view_class.method_requirement("GET")
    held = None
    if requirement is not None:
        held = access_level(user=user, site=site, code=requirement[0])
    page = PageAccess(
        Answer.MAY_OPEN if verdict.allowed else Answer.MAY_NOT_OPEN,
        "",
        path,
        name,
        requirement=requirement,
        held=held,
        outcome=verdict.outcome,
    )
    return dataclasses.replace(page, message=_reason(page, person, site))


def _reason(page: PageAccess, person: str, site: Institution) -> str:
    needs = (
        f"it needs “{page.permission_label}” at {page.requirement[1].label}"
        if page.requirement
        else "it needs no permission: every member of staff of this site may open it"
    )
    holds = f"{person} has it at {page.held.label}" if page.held else f"{person} does not have it"
    match page.outcome:
        case Outcome.ALLOWED if page.requirement:
            return f"{person} may open {page.path}: {needs}, and {holds}."
        case Outcome.ALLOWED:
            return f"{person} may open {page.path}: {needs}."
        case Outcome.FORBIDDEN:
            return f"{person} may not open {page.path}: {needs}, and {holds}."
        case Outcome.ENROL:
            return (
                f"{person} may not open {page.path} yet: {site.name} requires two-factor "
                f"sign-in and {person} has not set it up. Once they have, {needs}"
                + (f" ({holds})." if page.requirement else ".")
            )
        case _:
            return f"{person} cannot use this site at all (no active staff profile here)."
