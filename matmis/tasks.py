"""Site work in a worker: the ``SiteTask`` Celery base, and ``site_work``, the binding it runs in.

A task declared with ``base=SiteTask`` is called with ``site_id=`` (a keyword, as every task
argument is) and runs its body in one transaction bound to that site, exactly as a request
to the site's host runs (``matmis.tenancy.SiteMiddleware``): the personal-data tables show
that site's rows and no other's (Row-Level Security, see README), and the body's writes
commit together or not at all. The body receives ``site_id`` as well, for its queries (a
selector always takes the site)::

    @app.task(base=SiteTask, name="mis.refresh_school_rollups")
    def refresh_school_rollups(*, site_id: int) -> None: ...

    enqueue_on_commit(refresh_school_rollups, site_id=school.pk)

It is the one way site work runs in a worker. Code that does the same work in process (a
management command, the demo) binds the site through the same ``site_work``.

Not for a task that must hold no transaction across network I/O: the email outbox
(``notifications.tasks``) claims and records each message in statements of their own, and
its tasks carry the site as an argument only.
"""

from contextlib import contextmanager

from celery import Task
from django.db import connection, transaction

from .tenancy import SITE_SETTING, site_scope


@contextmanager
def site_work(site_id: int):
    """One transaction bound to ``site_id`` for as long as the block runs. Inside an outer
    transaction it is a savepoint, and the outer binding returns afterwards; as the
    outermost transaction its binding ends with its commit."""
    outermost = not connection.in_atomic_block
    with transaction.atomic(), site_scope(int(site_id), restore=not outermost):
        yield


def site_work_required(site_id: int) -> None:
    """Raise unless the current transaction is bound to ``site_id``: for a function that
    writes from what it reads of personal data, where a missing binding would read nothing
    and so write wrong figures, silently."""
    bound = None
    if connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_setting(%s, true)", [SITE_SETTING])
            bound = cursor.fetchone()[0]
    if bound != str(int(site_id)):
        raise RuntimeError(
            f"This needs a transaction bound to site {site_id}: run it in a SiteTask "
            "(matmis.tasks) or inside site_work()."
        )


class SiteTask(Task):
    """A Celery task of one site: called with ``site_id=``, its body runs inside
    ``site_work(site_id)`` and receives ``site_id``. Called without one, it raises
    TypeError before touching the database."""

    def __call__(self, *args, site_id: int, **kwargs):
        with site_work(site_id):
            return super().__call__(*args, site_id=site_id, **kwargs)
