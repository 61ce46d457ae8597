"""The record of pupil-level reads from outside the school, kept in one place.

A page or endpoint that shows pupil-level data (a list of pupils, a pupil's record, their
files) declares what it shows by mixing in ``RecordsOutsideReads`` with ``outside_read``
set. When such a request is answered successfully inside a Log in to MIS hop (the reader
came from a group site: ``request.hop_group``), one ``OutsideRead`` is written for the
request, however many pupils it showed. The school's own staff are not recorded, nor is a
refused request (the site check's 403/404, a missing pupil, invalid filters).

Pages of counts over the school (Attendance and its export) are not pupil-level and are not
recorded; a group's Analytics reads roll-ups and never pupils.
"""

from functools import wraps

from django.http import HttpRequest

from accounts.models import User
from institutions.models import Institution

from .models import OutsideRead, OutsideReadKind

READ_METHODS = ("GET", "HEAD")


def outside_read_record(
    *,
    site: Institution,
    reader: User,
    from_group: Institution,
    what: OutsideReadKind,
    path: str,
    api: bool,
    pupil_id: int | None = None,
) -> OutsideRead:
    """Record that ``reader``, from ``from_group``, read ``what`` at school ``site``."""
    return OutsideRead.objects.create(
        site=site,
        reader=reader,
        from_group=from_group,
        what=what,
        pupil_id=pupil_id,
        path=path[:255],
        api=api,
    )


class RecordsOutsideReads:
    """Mixed into a school's page or API view (before its base) that shows pupil-level data:
    a successful read from outside the school is recorded (``outside_read_record``), once
    per request. The recording wraps the whole view, outside its site check, so it sees
    the answer the person got."""

    outside_read: OutsideReadKind | None = None

    @classmethod
    def as_view(cls, **initkwargs):
        view = super().as_view(**initkwargs)
        what = cls.outside_read
        if what is None:
            raise TypeError(f"{cls.__qualname__} must say what it shows: set outside_read.")

        @wraps(view)
        def recording_view(request: HttpRequest, *args, **kwargs):
            response = view(request, *args, **kwargs)
            group = getattr(request, "hop_group", None)
            if (
                group is not None
                and request.method in READ_METHODS
                and 200 <= response.status_code < 300
            ):
                outside_read_record(
                    site=request.site,
                    reader=request.user,
                    from_group=group,
                    what=what,
                    path=request.get_full_path(),
                    api=request.path.startswith("/api/"),
                    pupil_id=kwargs.get("pupil_id"),
                )
            return response

        return recording_view
