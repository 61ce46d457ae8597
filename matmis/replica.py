"""Reads that may go to a read replica: a group's figures, read inside ``group_reads()``.

With ``DATABASE_REPLICA_URL`` set (settings: the ``replica`` database, a streaming replica
of the primary), the ORM's reads of the models in ``REPLICA_MODELS`` made inside
``group_reads()`` go to the replica; everything else, every write and every read outside
that block, goes to the primary, as it does when no replica is set (the default).

What may go: the figures a group's pages read across hundreds of schools (the roll-ups,
the weeks, the published figures) and the register around them. They are counts written
by the refresh and the importers, never by the request reading them, so a replica a few
seconds behind shows what the primary showed a few seconds ago, and no request misses its
own write. What never goes: pupil-level data (``matmis.personal_data``), which is visible
only in a transaction bound to its site on the primary (``matmis.tenancy.site_scope``);
the router refuses it even inside ``group_reads()``. Migrations run on the primary only.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings

REPLICA = "replica"

# Group-facing figures and the register they are shown with (model labels, lower case).
REPLICA_MODELS = frozenset(
    {
        "mis.attendancerollup",
        "mis.weeklyattendance",
        "mis.rollupstate",
        "analytics.publishedfigures",
        "institutions.institution",
        "institutions.groupmembership",
        "institutions.cluster",
        "institutions.clustermembership",
    }
)

_group_reads: ContextVar[bool] = ContextVar("matmis_group_reads", default=False)


@contextmanager
def group_reads() -> Iterator[None]:
    """Reads of group-facing figures in this block may be served by the replica."""
    token = _group_reads.set(True)
    try:
        yield
    finally:
        _group_reads.reset(token)


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


class ReplicaRouter:
    """``DATABASE_ROUTERS``: the replica for group reads of ``REPLICA_MODELS``; no opinion
    (the primary, ``default``) otherwise."""

    def db_for_read(self, model, **hints):
        if (
            _group_reads.get()
            and model._meta.label_lower in REPLICA_MODELS
            and replica_configured()
        ):
            return REPLICA
        return None

    def db_for_write(self, model, **hints):
        return "default"

    def allow_relation(self, obj1, obj2, **hints):
        return True  # one database, copied: an object read from either is the same row

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == "default"
