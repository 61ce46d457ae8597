"""The rules for sending data sharing requests, each stated once.

Pure functions and constants: no queries, no requests. The send page and its preview, the
REST API and ``services.requests.agreement_requests_send`` all ask these, so that what a person is
offered, what the preview says and what the service does never disagree.

- **Who receives a request**: staff holding one of ``RECIPIENT_ROLES`` at the school;
  ``ALL_ROLES`` means all four (``recipient_roles_clean``, ``recipient_roles_chosen``).
- **Which level may be asked for**: one of ``LEVELS`` (``level_clean``); when raising
  approved schools, only a level above the lowest approved among them
  (``requestable_levels``).
- **Which schools are skipped, and why**: ``send_skip_reason``.
"""

from collections.abc import Iterable, Sequence

from .models import AccessLevel

# --- Who receives a request ---------------------------------------------------------------

# The roles a request may go to at a school (business roles of that name there), in order
# of precedence: a person holding two of them is listed under the first.
RECIPIENT_ROLES: tuple[str, ...] = (
    "Executive Head Teacher",
    "Head Teacher",
    "Deputy Head Teacher",
    "Data Manager",
)
ALL_ROLES = "all"
ROLE_CHOICES: tuple[str, ...] = (*RECIPIENT_ROLES, ALL_ROLES)

CHOOSE_RECIPIENTS = "Choose who should receive the request."


def _role_keys(roles: Iterable[str]) -> set[str]:
    return {str(role).strip().casefold() for role in roles}


def recipient_roles_chosen(roles: Iterable[str]) -> tuple[str, ...]:
    """The recipient roles among ``roles`` (any case), spelt as in ``RECIPIENT_ROLES`` and
    in its order; ``ALL_ROLES`` means all four. Anything else is left out: for a form
    that is still being filled in."""
    wanted = _role_keys(roles)
    if ALL_ROLES in wanted:
        return RECIPIENT_ROLES
    return tuple(role for role in RECIPIENT_ROLES if role.casefold() in wanted)


def recipient_roles_clean(roles: Iterable[str]) -> tuple[str, ...]:
    """``recipient_roles_chosen`` for a send: raises ValueError for anything that is not a
    recipient role (unless ``ALL_ROLES`` is among them), or for none."""
    wanted = _role_keys(roles)
    if ALL_ROLES in wanted:
        return RECIPIENT_ROLES
    unknown = wanted - _role_keys(RECIPIENT_ROLES)
    if unknown:
        raise ValueError(f"Not a role requests go to: {', '.join(sorted(unknown))}")
    if not wanted:
        raise ValueError(CHOOSE_RECIPIENTS)
    return recipient_roles_chosen(wanted)


# --- Which level may be asked for -----------------------------------------------------------

LEVELS: tuple[int, ...] = tuple(AccessLevel.values)
CHOOSE_LEVEL = "Choose an access level: 1, 2 or 3."


def level_clean(value) -> AccessLevel:
    """``value`` (an int or its text) as an access level; ValueError otherwise."""
    try:
        return AccessLevel(int(value))
    except (TypeError, ValueError):
        raise ValueError(CHOOSE_LEVEL) from None


def requestable_levels(approved_levels: Iterable[int] = ()) -> list[AccessLevel]:
    """The levels a send may ask for, given the approved levels of the chosen schools
    (none when sending to schools without an agreement): only those above the lowest, as
    a level is raised, never lowered. A school approved at a level asked for is skipped
    (``send_skip_reason``)."""
    lowest = min(approved_levels, default=0)
    return [level for level in AccessLevel if level > lowest]


# --- Which schools are skipped, and why -----------------------------------------------------

NOT_THE_GROUPS_SCHOOL = "not one of this group’s schools"
ALREADY_PENDING = "a request is already pending"
ALREADY_AT_LEVEL = "already approved at this level or higher"


def roles_phrase(roles: Sequence[str]) -> str:
    """``["Head Teacher", "Data Manager"]`` → "Head Teacher or Data Manager"."""
    roles = list(roles)
    if len(roles) <= 1:
        return "".join(roles)
    return f"{', '.join(roles[:-1])} or {roles[-1]}"


NOBODY_NAMED_HERE = "nobody chosen by name works here"


def no_recipient_reason(roles: Sequence[str]) -> str:
    if not roles:  # people chosen by name only
        return NOBODY_NAMED_HERE
    return f"no {roles_phrase(roles)} with an email address"


def send_skip_reason(
    *,
    is_member: bool,
    pending: bool,
    approved_level: int,
    level: int,
    has_recipients: bool,
    roles: Sequence[str],
) -> str:
    """Why a request at ``level`` to one school would not be sent, or "" when it would:
    the first of not a current school of the group, a request already pending, an
    agreement at ``level`` or higher, nobody holding ``roles`` with an email address."""
    if not is_member:
        return NOT_THE_GROUPS_SCHOOL
    if pending:
        return ALREADY_PENDING
    if approved_level >= level:
        return ALREADY_AT_LEVEL
    if not has_recipients:
        return no_recipient_reason(roles)
    return ""
