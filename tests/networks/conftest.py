"""The staff sharing tests' world: schools with teachers, files in a temporary media folder,
and helpers that build networks and groups through the services."""

import pytest

from accounts.audit import Actor
from accounts.permissions import NETWORK_LEADERSHIP, SHARING_NETWORKS
from institutions.models import Status
from networks import services
from networks.models import Network
from tests.conftest import SiteClient
from tests.factories import (
    InstitutionFactory,
    StaffProfileFactory,
    TrustFactory,
    grant_permission,
)

PDF_BYTES = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"
# The smallest thing a player accepts as MP4: an ftyp box and an empty mdat.
MP4_BYTES = (
    b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"
    + b"\x00\x00\x00\x08free"
    + b"\x00\x00\x01\x00mdat"
    + bytes(range(256))[: 0x100 - 8]
)


def actor(user, site) -> Actor:
    return Actor(user=user, site=site)


def staff(site, **kwargs):
    return StaffProfileFactory(site=site, **kwargs).user


def leader(site):
    """A head at ``site``: approves networks and administers sharing there."""
    user = staff(site)
    grant_permission(user, site, NETWORK_LEADERSHIP)
    grant_permission(user, site, SHARING_NETWORKS)
    return user


def client_for(site, user) -> SiteClient:
    client = SiteClient(site)
    client.force_login(user)
    return client


def approved_network(*, kind, sites, coaching=None, members=None, name="Network") -> Network:
    """A network among ``sites`` approved by a leader of each (the first site requests)."""
    requester = leader(sites[0])
    network = services.network_request(
        actor=actor(requester, sites[0]),
        site=sites[0],
        kind=kind,
        name=name,
        organisations=list(sites),
        coaching_site=coaching,
        members=members,
    )
    for site in sites:
        who = requester if site == sites[0] else leader(site)
        services.network_approve(
            actor=actor(who, site), network=network, site=site, statement="Agreed by the head."
        )
    network.refresh_from_db()
    return network


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def schools(db):
    """Three schools of one trust, and an outside training organisation (a school-kind
    site, as the register has no other kind)."""
    trust = TrustFactory(name="Oak Ridge Trust", slug="oak-ridge-trust")
    a = InstitutionFactory(name="Ash School", slug="ash-school", status=Status.OPEN)
    b = InstitutionFactory(name="Beech School", slug="beech-school", status=Status.OPEN)
    c = InstitutionFactory(name="Cedar School", slug="cedar-school", status=Status.OPEN)
    hub = InstitutionFactory(name="Teacher Training Hub", slug="training-hub")
    return {"trust": trust, "a": a, "b": b, "c": c, "hub": hub}


def stored_files(media) -> list:
    return [p for p in media.rglob("*") if p.is_file()] if media.exists() else []
