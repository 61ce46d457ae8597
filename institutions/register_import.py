"""Importing the national register (GIAS establishment export): the write path.

``register_import`` reads a file with ``institutions.gias`` and, in one transaction:
1. COPYs the valid records into a temporary staging table (psycopg 3 ``cursor.copy``);
2. works out which schools, trusts and local authorities are new, and gives each a slug
   (a DNS label, fixed once chosen) against one read of the slugs already taken;
3. creates new trusts and local authorities and renames those whose register name changed;
4. updates existing schools whose register fields differ (``IS DISTINCT FROM``, so an
   unchanged school is never written and its ``updated_at`` stays) and inserts new ones;
5. ends memberships the register no longer gives (``left_on`` = the import date) and starts
   the ones it now gives.
Every step is one set-based statement, so the number of queries does not grow with the
file. A first import (one that at least doubles the number of sites) checks the
memberships' foreign keys once, after loading (``_bulk_load``).
Nothing is ever deleted. Imports are serialised by a transaction-level advisory lock.

``register_import_upload`` and ``register_import_run`` are the services behind the upload
pages: the first stores the file and queues the task, the second (called by the task) runs
the import and records its progress and outcome on the ``RegisterImport`` row.
"""

import datetime
import logging
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import BinaryIO

import psycopg
from django.core.files.uploadedfile import UploadedFile
from django.db import (
    DEFAULT_DB_ALIAS,
    DatabaseError,
    connection,
    connections,
    models,
    transaction,
)
from django.db.models import Q
from django.utils import timezone

from accounts.audit import Actor, system_actor
from matmis.celery import enqueue_on_commit

from .gias import (
    RECORD_FIELDS,
    RegisterFileError,
    Rejection,
    SchoolRecord,
    open_register,
)
from .models import GroupMembership, Institution, InstitutionKind, RegisterImport
from .signals import memberships_ended as memberships_ended_signal

__all__ = [
    "RegisterFileError",
    "RegisterImportResult",
    "Rejection",
    "register_import",
    "register_import_run",
    "register_import_upload",
]

logger = logging.getLogger(__name__)

PROGRESS_EVERY = 1000
SLUG_MAX = 63  # one DNS label
SLUG_BASE_MAX = 56  # leaves room for "-<urn>"
# One import at a time: a constant key for pg_advisory_xact_lock ("gias" in ASCII).
_IMPORT_LOCK_KEY = 0x67696173

# The number of new schools from which an import that at least doubles the number of sites
# checks the memberships' foreign keys after loading (see _bulk_load).
BULK_LOAD_FROM = 5000

_SCHOOL = InstitutionKind.SCHOOL.value
_TRUST = InstitutionKind.TRUST.value
_LA = InstitutionKind.LOCAL_AUTHORITY.value


@dataclass
class RegisterImportResult:
    created: int
    updated: int
    unchanged: int
    rejected: list[Rejection]
    groups_created: int
    groups_updated: int
    memberships_started: int
    memberships_ended: int
    encoding: str


def register_import(
    *,
    stream: BinaryIO,
    today: datetime.date | None = None,
    progress: Callable[[int], None] | None = None,
    actor: Actor | None = None,
) -> RegisterImportResult:
    """Import the register export in ``stream`` (bytes); see the module's description.

    ``today`` is the date memberships start and end on (default: today). ``progress`` is
    called with the number of records read every ``PROGRESS_EVERY`` records and at the end.
    ``actor`` (``accounts.audit.Actor``, default the system) is who the memberships ended
    are recorded against: what ends with them (``signals.memberships_ended``) ends in the
    same transaction, all schools at once.
    Raises RegisterFileError, changing nothing, when the file as a whole cannot be read.
    """
    today = today or timezone.localdate()
    actor = actor or system_actor()
    register = open_register(stream)
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(_BEGIN_SQL)
            rejected = _stage(cursor, register, progress)
            new_schools, existing_sites = _stage_slugs(cursor)
            cursor.execute(_INSERT_GROUPS_SQL)
            groups_created = cursor.rowcount
            cursor.execute(_RENAME_GROUPS_SQL)
            groups_updated = cursor.rowcount
            cursor.execute(_update_schools_sql(register.present_fields))
            updated = cursor.rowcount
            first_import = new_schools >= max(BULK_LOAD_FROM, existing_sites) and _may_rebuild(
                cursor
            )
            with _bulk_load(cursor) if first_import else nullcontext():
                cursor.execute(_INSERT_SCHOOLS_SQL)
                created = cursor.rowcount
                cursor.execute(_WANTED_GROUPS_SQL)
                cursor.execute(_ANALYZE_WANTED_GROUPS_SQL)
                cursor.execute(_END_MEMBERSHIPS_SQL, {"today": today})
                ended = [(group_id, school_id) for group_id, school_id in cursor.fetchall()]
                memberships_ended = len(ended)
                if ended:
                    memberships_ended_signal.send(
                        sender=GroupMembership, ended=ended, left_on=today, actor=actor
                    )
                cursor.execute(_START_MEMBERSHIPS_SQL, {"today": today})
                memberships_started = cursor.rowcount
            cursor.execute(_END_SQL)
    finally:
        register.close()
    if progress is not None:
        progress(register.rows_read)
    valid = register.rows_read - len(rejected)
    return RegisterImportResult(
        created=created,
        updated=updated,
        unchanged=valid - created - updated,
        rejected=rejected,
        groups_created=groups_created,
        groups_updated=groups_updated,
        memberships_started=memberships_started,
        memberships_ended=memberships_ended,
        encoding=register.encoding,
    )


def _stage(
    cursor, records: Iterable[SchoolRecord | Rejection], progress: Callable[[int], None] | None
) -> list[Rejection]:
    """Stream the valid records into ``gias_staging``, and the trusts and local authorities
    they name into ``gias_group`` (each code once, with the name on the first of its lines
    that gives one); return the rejections."""
    rejected: list[Rejection] = []
    groups: dict[tuple[str, str], str] = {}
    read = 0
    columns = ", ".join(RECORD_FIELDS)
    with cursor.copy(f"COPY gias_staging ({columns}) FROM STDIN") as copy:
        for item in records:
            read += 1
            if type(item) is SchoolRecord:
                copy.write_row(item)
                if item.trust_code and not groups.get(trust := (_TRUST, item.trust_code)):
                    groups[trust] = item.trust_name
                if item.in_local_authority and not groups.get(la := (_LA, item.la_code)):
                    groups[la] = item.la_name
            else:
                rejected.append(item)
            if progress is not None and read % PROGRESS_EVERY == 0:
                progress(read)
    with cursor.copy("COPY gias_group (kind, code, name) FROM STDIN") as copy:
        for (kind, code), name in groups.items():
            copy.write_row((kind, code, name))
    return rejected


# --- Slugs -------------------------------------------------------------------------------


def _label_character(character: str) -> str | None:
    """What an ASCII character becomes in a label: itself in lower case (letters, digits),
    a space (separators, later one hyphen) or nothing (apostrophes, punctuation)."""
    if character.isalnum():
        return character.lower()
    if character in "_-" or character.isspace():
        return " "
    return None


_LABEL_CHARACTERS = {code: _label_character(chr(code)) for code in range(128)}


def dns_label(text: str) -> str:
    """``text`` as a host label: accents dropped, apostrophes and punctuation removed, words
    (letters and digits) joined by single hyphens, lower case; only [a-z0-9-].

    The same labels as Django's ``slugify`` followed by ``_`` and runs of ``-`` made one
    hyphen, about four times faster (a first import makes 50,000 of them).
    """
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return "-".join(text.translate(_LABEL_CHARACTERS).split())


def _with_suffix(base: str, suffix: str) -> str:
    return base[: SLUG_MAX - len(suffix)].rstrip("-") + suffix


def slug_candidates(*, kind: str, key: str, name: str) -> Iterable[str]:
    """The slugs a new site may take, best first.

    Schools: the name cut to 56 characters, then ``-<urn>``; trusts: the name, then
    ``-<code>``; local authorities: the name, then ``-la-<code>``. Numbered variants follow
    for the (unlikely) case that those are taken too.
    """
    base = dns_label(name)[:SLUG_BASE_MAX].rstrip("-") or kind
    suffix = f"-la-{key}" if kind == InstitutionKind.LOCAL_AUTHORITY else f"-{key}"
    yield base
    yield _with_suffix(base, suffix)
    number = 2
    while True:
        yield _with_suffix(base, f"{suffix}-{number}")
        number += 1


def assign_slugs(
    new_sites: Iterable[tuple[str, str, str]], taken: set[str]
) -> list[tuple[str, str, str]]:
    """(kind, key, slug) for each new site (kind, key, name), in the order given, each
    taking the first candidate not in ``taken`` (which grows as slugs are handed out)."""
    assigned = []
    for kind, key, name in new_sites:
        slug = next(c for c in slug_candidates(kind=kind, key=key, name=name) if c not in taken)
        taken.add(slug)
        assigned.append((kind, key, slug))
    return assigned


def _stage_slugs(cursor) -> tuple[int, int]:
    """Fill ``gias_slug`` with a slug for every new local authority, trust and school;
    return how many new schools there are and how many sites there were before (0, 0
    when nothing is new)."""
    cursor.execute(_NEW_SITES_SQL)
    new_sites = cursor.fetchall()
    if not new_sites:
        return (0, 0)
    cursor.execute("SELECT slug FROM institutions_institution")
    taken = {slug for (slug,) in cursor.fetchall()}
    existing_sites = len(taken)
    with cursor.copy("COPY gias_slug (kind, key, slug) FROM STDIN") as copy:
        for row in assign_slugs(new_sites, taken):
            copy.write_row(row)
    new_schools = sum(kind == _SCHOOL for kind, _, _ in new_sites)
    return (new_schools, existing_sites)


def _may_rebuild(cursor) -> bool:
    """Whether this connection may drop and rebuild the register's index and keys: only as
    the tables' owner (``import_gias``, a maintenance command, runs as the owner; the
    application's role, ``matmis.db_roles``, may not change the schema)."""
    cursor.execute(
        "SELECT pg_has_role(current_user, relowner, 'USAGE') FROM pg_class "
        "WHERE oid = 'institutions_institution'::regclass"
    )
    return cursor.fetchone()[0]


@contextmanager
def _bulk_load(cursor) -> Iterator[None]:
    """Load first, then check: for the ``with`` block, drop the memberships' foreign keys;
    after it, add them back (PostgreSQL checks every row as they are added, in one pass).

    On 50,000 schools and 66,000 memberships, checking the keys in one pass takes a few
    tens of milliseconds where the row-by-row checks took 0.4 s at commit. The price is that the
    institutions and memberships are locked against readers until the import commits, so
    ``register_import`` does this only for an import that at least doubles the number of
    sites (a first import). What is dropped is put back from its own definition in the
    catalogue, so it comes back exactly as the migrations made it.
    """
    cursor.execute(_BULK_LOAD_OBJECTS_SQL)
    objects = cursor.fetchall()
    if objects:
        cursor.execute("; ".join(drop for drop, _ in objects))
    yield
    if objects:
        cursor.execute("; ".join(create for _, create in objects))


# --- SQL -----------------------------------------------------------------------------------

# The SQL names the tables (institutions_institution, institutions_groupmembership) and
# the kinds ('school', 'trust', 'la': InstitutionKind) literally. Column lists that follow
# the model are built from it; nothing from a file ever becomes SQL text.
# Staged values that are not Institution fields.
_NOT_INSTITUTION_FIELDS = frozenset({"line", "in_local_authority"})
_REGISTER_FIELDS = tuple(f for f in RECORD_FIELDS if f not in _NOT_INSTITUTION_FIELDS)


def _staging_column_type(name: str) -> str:
    if name == "line":
        return "integer"
    if name == "in_local_authority":
        return "boolean"
    return Institution._meta.get_field(name).db_type(connection)


# Lock out a concurrent import, give the set-based statements room to hash and sort in
# memory, turn off JIT compilation (stale statistics pushed a 70 ms join past the JIT cost
# threshold, and compiling it took 0.25-0.5 s), and create the staging tables (dropped at
# the end, and by any rollback).
_BEGIN_SQL = f"""
SELECT pg_advisory_xact_lock({_IMPORT_LOCK_KEY});
SET LOCAL work_mem = '64MB';
SET LOCAL jit = off;
CREATE TEMPORARY TABLE gias_staging (
    {", ".join(f"{name} {_staging_column_type(name)}" for name in RECORD_FIELDS)}
) ON COMMIT DROP;
CREATE TEMPORARY TABLE gias_group (
    kind text, code {_staging_column_type("trust_code")}, name varchar(255)
) ON COMMIT DROP;
CREATE TEMPORARY TABLE gias_slug (kind text, key text, slug varchar({SLUG_MAX})) ON COMMIT DROP;
"""
_END_SQL = "DROP TABLE gias_staging, gias_group, gias_slug, gias_wanted_group"

# Temporary tables are never analysed by autovacuum: the statements that read
# gias_wanted_group plan with its real size and spread (a few milliseconds to gather).
_ANALYZE_WANTED_GROUPS_SQL = "ANALYZE gias_wanted_group"

# What ``_bulk_load`` drops and how it is made again: (drop statement, create statement).
_BULK_LOAD_OBJECTS_SQL = """
SELECT format('ALTER TABLE %s DROP CONSTRAINT %I', conrelid::regclass, conname),
       format('ALTER TABLE %s ADD CONSTRAINT %I %s', conrelid::regclass, conname,
              pg_get_constraintdef(oid))
FROM pg_constraint
WHERE conrelid = 'institutions_groupmembership'::regclass AND contype = 'f'
"""

# New sites in the order they get slugs: local authorities, trusts (by code), schools (by
# line), so the same file against the same database always gives the same slugs.
_NEW_SITES_SQL = """
SELECT kind, key, name FROM (
    SELECT CASE g.kind WHEN 'la' THEN 0 ELSE 1 END AS rank, g.code AS sort,
           g.kind, g.code AS key, g.name
    FROM gias_group g
    WHERE NOT EXISTS (
        SELECT 1 FROM institutions_institution i WHERE i.kind = g.kind AND i.group_code = g.code
    )
    UNION ALL
    SELECT 2, lpad(s.line::text, 12, '0'), 'school', s.urn, s.name
    FROM gias_staging s
    WHERE NOT EXISTS (SELECT 1 FROM institutions_institution i WHERE i.urn = s.urn)
) new_sites
ORDER BY rank, sort
"""


def _default_sql(model_field: models.Field) -> str:
    """What a new row gets for a column the import does not fill."""
    if model_field.null:
        return "NULL"
    if isinstance(model_field, models.JSONField):
        return "'{}'::jsonb" if model_field.get_default() == {} else "'[]'::jsonb"
    if isinstance(model_field, models.DateTimeField):
        return "statement_timestamp()"
    if isinstance(model_field, models.CharField):
        return "''"
    raise TypeError(f"The register import has no value for Institution.{model_field.name}.")


def _insert_sql(*, values: dict[str, str], source: str) -> str:
    """``INSERT INTO institution`` every stored column: ``values`` (column -> SQL) where
    given, the column's default otherwise."""
    columns, expressions = [], []
    for model_field in Institution._meta.concrete_fields:
        if model_field.primary_key or model_field.generated:
            continue
        columns.append(model_field.column)
        expressions.append(values.get(model_field.name) or _default_sql(model_field))
    return (
        f"INSERT INTO institutions_institution ({', '.join(columns)})\n"
        f"SELECT {', '.join(expressions)}\n{source}"
    )


_INSERT_GROUPS_SQL = _insert_sql(
    values={
        "kind": "g.kind",
        "name": (
            "coalesce(nullif(g.name, ''), CASE g.kind WHEN 'trust' THEN 'Trust ' "
            "ELSE 'Local authority ' END || g.code)"
        ),
        "slug": "n.slug",
        "group_code": "g.code",
    },
    source="FROM gias_group g JOIN gias_slug n ON n.kind = g.kind AND n.key = g.code",
)

_RENAME_GROUPS_SQL = """
UPDATE institutions_institution i SET name = g.name, updated_at = statement_timestamp()
FROM gias_group g
WHERE i.kind = g.kind AND i.group_code = g.code AND g.name <> '' AND i.name <> g.name
"""

_INSERT_SCHOOLS_SQL = _insert_sql(
    values={
        **{name: f"s.{name}" for name in _REGISTER_FIELDS},
        "kind": "'school'",
        "slug": "n.slug",
        "group_code": "''",
    },
    source="FROM gias_staging s JOIN gias_slug n ON n.kind = 'school' AND n.key = s.urn",
)


def _update_schools_sql(present_fields: frozenset[str]) -> str:
    """Bring existing schools up to date with the fields the file has, touching only the
    rows where one differs. A column the file lacks is left as it is."""
    present = set(present_fields)
    if "ofsted_rating_published" in present:
        present.add("ofsted_grade")  # the grade follows the published rating
    names = [f for f in _REGISTER_FIELDS if f != "urn" and f in present]
    targets = ", ".join(names)
    staged = ", ".join(f"s.{name}" for name in names)
    current = ", ".join(f"i.{name}" for name in names)
    return f"""
UPDATE institutions_institution i SET ({targets}, updated_at) = ({staged}, statement_timestamp())
FROM gias_staging s
WHERE i.urn = s.urn AND ({current}) IS DISTINCT FROM ({staged})
"""  # noqa: S608


# Each school in the file with the trust and local authority the register gives it (NULL:
# none).
_WANTED_GROUPS_SQL = """
CREATE TEMPORARY TABLE gias_wanted_group ON COMMIT DROP AS
SELECT school.id AS school_id, trust.id AS trust_id, la.id AS la_id
FROM gias_staging s
JOIN institutions_institution school ON school.urn = s.urn
LEFT JOIN institutions_institution trust
    ON trust.kind = 'trust' AND trust.group_code = s.trust_code AND s.trust_code <> ''
LEFT JOIN institutions_institution la
    ON la.kind = 'la' AND la.group_code = s.la_code AND s.in_local_authority
"""

# A school in the file leaves any trust other than the one the register names (all trusts
# when it names none), and any local authority other than its own.
_END_MEMBERSHIPS_SQL = """
UPDATE institutions_groupmembership m SET left_on = greatest(%(today)s, m.joined_on)
FROM gias_wanted_group w, institutions_institution g
WHERE m.school_id = w.school_id AND m.left_on IS NULL AND g.id = m.group_id
  AND (
    (g.kind = 'trust' AND m.group_id IS DISTINCT FROM w.trust_id)
    OR (g.kind = 'la' AND m.group_id IS DISTINCT FROM w.la_id)
  )
RETURNING m.group_id, m.school_id
"""

# ... and joins the trust and local authority the register names, unless already in them.
# The partial unique index (one current membership per group and school) decides "already
# in": no plan over the memberships to go wrong when their statistics are stale (analysed
# while empty, a NOT EXISTS here became a nested loop re-scanning them: 14 s for 66,000).
_START_MEMBERSHIPS_SQL = """
INSERT INTO institutions_groupmembership (group_id, school_id, joined_on)
SELECT trust_id, school_id, %(today)s FROM gias_wanted_group WHERE trust_id IS NOT NULL
UNION ALL
SELECT la_id, school_id, %(today)s FROM gias_wanted_group WHERE la_id IS NOT NULL
ON CONFLICT (group_id, school_id) WHERE left_on IS NULL DO NOTHING
"""


# --- Uploads by platform staff ---------------------------------------------------------------


@transaction.atomic
def register_import_upload(*, upload: UploadedFile, uploaded_by) -> RegisterImport:
    """Keep an uploaded export and queue its import (which runs once this commits)."""
    from .tasks import run_register_import

    record = RegisterImport.objects.create(
        uploaded_by=uploaded_by,
        file=upload,
        original_name=(upload.name or "")[:255],
        size=upload.size or 0,
    )
    enqueue_on_commit(run_register_import, register_import_id=record.pk)
    return record


class ProgressWriter:
    """Writes ``rows_read`` of one RegisterImport through a connection of its own.

    The import holds its work in one open transaction on the default connection; an update
    made there would stay invisible to the progress page until the end. This writer opens a
    second connection (same database settings, autocommit), so every update is committed
    and seen at once. The import never touches the RegisterImport row inside its
    transaction, so the two connections do not wait for each other; should the row be
    locked anyway (a caller holding it in a transaction), the writer gives up after a short
    lock timeout and stays quiet: progress is a courtesy, never a reason to fail an import.
    """

    LOCK_TIMEOUT = "2s"

    def __init__(self, register_import_id: int):
        self.register_import_id = register_import_id
        self._connection = None
        self._given_up = False

    def __call__(self, rows_read: int) -> None:
        if self._given_up:
            return
        try:
            if self._connection is None:
                self._connection = connections.create_connection(DEFAULT_DB_ALIAS)
                self._connection.ensure_connection()
            # One short transaction per update, its lock timeout SET LOCAL: behind a
            # transaction-mode pooler (PgBouncer) a session setting would outlive this
            # client on a server connection that others then use.
            raw = self._connection.connection
            with raw.transaction(), raw.cursor() as cursor:
                cursor.execute(f"SET LOCAL lock_timeout = '{self.LOCK_TIMEOUT}'")
                cursor.execute(
                    "UPDATE institutions_registerimport SET rows_read = %s WHERE id = %s",
                    [rows_read, self.register_import_id],
                )
        except (DatabaseError, psycopg.Error):  # Django's, or the raw connection's own
            logger.warning("Progress of register import %s not recorded", self.register_import_id)
            self._given_up = True
            self.close()

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


# An upload whose task never started (queued while the broker was down) or whose worker
# died mid-import is queued again after these; an import of the national register takes
# seconds, so a RUNNING one this old is not running any more.
QUEUED_STALE_AFTER = datetime.timedelta(minutes=10)
RUNNING_STALE_AFTER = datetime.timedelta(hours=1)


def register_imports_due_ids(*, now: datetime.datetime | None = None) -> list[int]:
    """Imports to queue again: still QUEUED long after the upload, or RUNNING long after
    they started (their worker was lost). An import is all or nothing, so running it again
    is safe; ``register_import_run`` of a finished one does nothing."""
    now = now or timezone.now()
    stale = Q(status=RegisterImport.State.QUEUED, created_at__lt=now - QUEUED_STALE_AFTER) | Q(
        status=RegisterImport.State.RUNNING, started_at__lt=now - RUNNING_STALE_AFTER
    )
    return list(RegisterImport.objects.filter(stale).order_by("pk").values_list("pk", flat=True))


def register_import_run(*, register_import_id: int) -> RegisterImport | None:
    """Run a queued import and record how it went. A repeat (a task delivered twice, or
    retried after its worker was lost) of a finished import does nothing."""
    claimed = RegisterImport.objects.filter(
        pk=register_import_id,
        status__in=[RegisterImport.State.QUEUED, RegisterImport.State.RUNNING],
    ).update(status=RegisterImport.State.RUNNING, started_at=timezone.now(), rows_read=0)
    if not claimed:
        return None
    record = RegisterImport.objects.get(pk=register_import_id)
    progress = ProgressWriter(register_import_id)
    outcome: dict = {}
    try:
        with record.file.open("rb") as stream:
            result = register_import(
                stream=stream,
                progress=progress,
                actor=Actor(user=record.uploaded_by, site=None),
            )
    except RegisterFileError as exc:
        outcome = {"status": RegisterImport.State.FAILED, "error": str(exc)}
    except Exception:
        logger.exception("Register import %s failed", register_import_id)
        outcome = {
            "status": RegisterImport.State.FAILED,
            "error": "The import stopped because of an error on our side; nothing was changed.",
        }
    else:
        outcome = {
            "status": RegisterImport.State.DONE,
            "rows_read": result.created + result.updated + result.unchanged + len(result.rejected),
            "encoding": result.encoding,
            "schools_created": result.created,
            "schools_updated": result.updated,
            "schools_unchanged": result.unchanged,
            "rows_rejected": len(result.rejected),
            "groups_created": result.groups_created,
            "groups_updated": result.groups_updated,
            "memberships_started": result.memberships_started,
            "memberships_ended": result.memberships_ended,
            "rejections": [
                {"line": r.line, "urn": r.urn, "reason": r.reason}
                for r in result.rejected[: RegisterImport.REJECTIONS_KEPT]
            ],
        }
    finally:
        progress.close()
    for name, value in outcome.items():
        setattr(record, name, value)
    record.finished_at = timezone.now()
    record.save(update_fields=[*outcome, "finished_at"])
    return record
