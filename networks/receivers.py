"""A member of staff deactivated at a site (``accounts.staff.onboarding.staff_deactivated``):
what they shared beyond it ends, recorded at the site."""

from accounts.audit import Actor

from .services import cross_organisation_shares_end


def cross_organisation_shares_end_with_staff(sender, *, user, site, actor: Actor, **kwargs):
    cross_organisation_shares_end(actor=actor, user=user, site=site)
