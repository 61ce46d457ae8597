"""Common Transfer File import: 2,000 pupils into one school through the product's import
(``mis.ctf.services.ctf_import_run``), against the floor of the same work done by hand:
parsing the same file with the same safe parser and raw INSERTs of the same rows.

Data: one bench school (made once) and a CTF of 2,000 pupils written by ``mis.ctf.writer``
(deterministic), each with an address, an earlier school's attendance year, a free school
meals period and an SEN entry: 10,000 rows in five tables.

Measured side by side, taking turns, each inside a transaction bound to the school (as a
request is) and rolled back afterwards, so every run starts from an empty school:
- import: the stored file read again, every pupil checked (UPN check letter, dates, codes)
  and matched by UPN with the school's pupils, then the pupils and their four histories
  written in bulk, the roll-ups marked due and the import audited;
- floor: ``defusedxml`` parsing of the same bytes, then one ``INSERT ... SELECT FROM
  unnest(...)`` per table through the same connection (set-based raw SQL, the fastest
  plain INSERT there is).
"""

import datetime
import gc
import time

from bench.harness import Bench, median_of, scenario

PUPILS = 2000
REPEAT = 5
SCHOOL_SLUG = "bench-ctf-school"

_PUPIL_SQL = """
INSERT INTO mis_pupil (site_id, upn, legal_first_name, legal_last_name, preferred_first_name,
    date_of_birth, sex, year_group, enrolled_on, fsm_eligible, disadvantaged, sen_provision)
SELECT %(site)s, u.* FROM unnest(%(upn)s::text[], %(first)s::text[], %(last)s::text[],
    %(preferred)s::text[], %(dob)s::date[], %(sex)s::text[], %(year)s::int[],
    %(enrolled)s::date[], %(fsm)s::bool[], %(dis)s::bool[], %(sen)s::text[]) AS u
RETURNING id, upn
"""
_ADDRESS_SQL = """
INSERT INTO mis_pupiladdress (site_id, pupil_id, saon, paon, street, locality, town,
    administrative_area, post_town, postcode)
SELECT %(site)s, u.* FROM unnest(%(pupil)s::bigint[], %(saon)s::text[], %(paon)s::text[],
    %(street)s::text[], %(locality)s::text[], %(town)s::text[], %(area)s::text[],
    %(post_town)s::text[], %(postcode)s::text[]) AS u
"""
_FSM_SQL = """
INSERT INTO mis_fsmperiod (site_id, pupil_id, starts_on, ends_on, uk_country)
SELECT %(site)s, u.* FROM unnest(%(pupil)s::bigint[], %(start)s::date[], %(end)s::date[],
    %(country)s::text[]) AS u
"""
_SEN_SQL = """
INSERT INTO mis_senperiod (site_id, pupil_id, starts_on, provision)
SELECT %(site)s, u.* FROM unnest(%(pupil)s::bigint[], %(start)s::date[], %(provision)s::text[])
    AS u
"""
_PRIOR_SQL = """
INSERT INTO mis_priorattendance (site_id, pupil_id, academic_year, school_name, la_code,
    establishment_number, sessions_possible, sessions_authorised, sessions_unauthorised)
SELECT %(site)s, u.* FROM unnest(%(pupil)s::bigint[], %(year)s::int[], %(name)s::text[],
    %(la)s::text[], %(estab)s::text[], %(possible)s::int[], %(auth)s::int[],
    %(unauth)s::int[]) AS u
"""


def _school():
    from institutions.models import Institution, InstitutionKind

    school, _ = Institution.objects.get_or_create(
        slug=SCHOOL_SLUG,
        defaults={
            "kind": InstitutionKind.SCHOOL,
            "name": "Bench CTF School",
            "la_code": "383",
            "establishment_number": "2001",
            "status": "Open",
        },
    )
    return school


def _file() -> bytes:
    from mis.codes import upn_check_letter
    from mis.ctf.records import (
        Address,
        FsmInstance,
        SchoolRef,
        SenEntry,
        TransferRecord,
        YearAttendance,
    )
    from mis.ctf.writer import write_ctf

    records = []
    for n in range(PUPILS):
        body = f"38329992{n // 1000:01d}{n % 1000:03d}"
        records.append(
            TransferRecord(
                upn=upn_check_letter(body) + body,
                legal_last_name=f"Surname{n}",
                legal_first_name=f"Forename{n}",
                preferred_first_name="",
                date_of_birth=datetime.date(2012 + n % 6, 1 + n % 12, 1 + n % 28),
                sex="FM"[n % 2],
                year_group=1 + n % 6,
                addresses=(
                    Address(paon=str(n), street="Mill Lane", town="Leeds", postcode="LS6 3AB"),
                ),
                attendance=(
                    YearAttendance(2025, "Kirkstall School", "383", "2999", 380, n % 30, n % 7),
                ),
                fsm=(FsmInstance(datetime.date(2024, 1, 8), None),),
                sen=(SenEntry(datetime.date(2025, 2, 3), "NKE"[n % 3]),),
            )
        )
    return write_ctf(
        source=SchoolRef("383", "2999", "Kirkstall School", "2026"),
        destination=None,
        generated_at="2026-12-07T15:30:00",
        records=records,
    )


def _floor(cursor, site_id: int, data: bytes, today: datetime.date) -> int:
    """Parse with the same parser, then write the same rows with set-based raw INSERTs."""
    from defusedxml.ElementTree import fromstring

    root = fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    p = {
        k: []
        for k in (
            "upn",
            "first",
            "last",
            "preferred",
            "dob",
            "sex",
            "year",
            "enrolled",
            "fsm",
            "dis",
            "sen",
        )
    }
    rows = []
    for pupil in root.iter("Pupil"):
        t = pupil.findtext
        rows.append(pupil)
        p["upn"].append(t("UPN"))
        p["first"].append(t("Forename"))
        p["last"].append(t("Surname"))
        p["preferred"].append("")
        p["dob"].append(datetime.date.fromisoformat(t("DOB")))
        p["sex"].append(t("Sex"))
        p["year"].append(int(t("BasicDetails/NCyearActual")))
        p["enrolled"].append(today)
        p["fsm"].append(True)
        p["dis"].append(True)
        p["sen"].append(t("SENhistory/SEN/SENprovision"))
    cursor.execute(_PUPIL_SQL, {"site": site_id, **p})
    ids = dict((upn, pk) for pk, upn in cursor.fetchall())
    a = {
        k: []
        for k in (
            "pupil",
            "saon",
            "paon",
            "street",
            "locality",
            "town",
            "area",
            "post_town",
            "postcode",
        )
    }
    f = {k: [] for k in ("pupil", "start", "end", "country")}
    s = {k: [] for k in ("pupil", "start", "provision")}
    y = {k: [] for k in ("pupil", "year", "name", "la", "estab", "possible", "auth", "unauth")}
    for pupil in rows:
        pk = ids[pupil.findtext("UPN")]
        for address in pupil.iterfind("Addresses/Address"):
            parts = address.find("BS7666Address")
            a["pupil"].append(pk)
            for key, tag in (
                ("saon", "SAON"),
                ("paon", "PAON"),
                ("street", "Street"),
                ("locality", "Locality"),
                ("town", "Town"),
                ("area", "AdministrativeArea"),
                ("post_town", "PostTown"),
            ):
                a[key].append(parts.findtext(tag) or "")
            a["postcode"].append(address.findtext("Postcode") or "")
        for period in pupil.iterfind("FSMhistory/FSMinstance"):
            f["pupil"].append(pk)
            f["start"].append(datetime.date.fromisoformat(period.findtext("FSMstartDate")))
            end = period.findtext("FSMendDate")
            f["end"].append(datetime.date.fromisoformat(end) if end else None)
            f["country"].append(period.findtext("UKcountry"))
        for entry in pupil.iterfind("SENhistory/SEN"):
            s["pupil"].append(pk)
            s["start"].append(datetime.date.fromisoformat(entry.findtext("StartDate")))
            s["provision"].append(entry.findtext("SENprovision"))
        for year in pupil.iterfind("Attendance/YearData"):
            y["pupil"].append(pk)
            y["year"].append(int(year.findtext("Year")))
            y["name"].append(year.findtext("SchoolName"))
            y["la"].append(year.findtext("LEA"))
            y["estab"].append(year.findtext("Estab"))
            y["possible"].append(int(year.findtext("SessionsPossible")))
            y["auth"].append(int(year.findtext("SessionsAuthorised")))
            y["unauth"].append(int(year.findtext("SessionsUnauthorised")))
    cursor.execute(_ADDRESS_SQL, {"site": site_id, **a})
    cursor.execute(_FSM_SQL, {"site": site_id, **f})
    cursor.execute(_SEN_SQL, {"site": site_id, **s})
    cursor.execute(_PRIOR_SQL, {"site": site_id, **y})
    return len(ids)


@scenario("ctf_import", goals={"ctf_import_2000_vs_raw_insert": "<= 2"})
def ctf_import(bench: Bench) -> None:
    """Import a 2,000-pupil CTF against parsing it and raw INSERTs of the same rows."""
    from django.db import connection, transaction
    from django.utils import timezone

    from accounts.audit import system_actor
    from matmis.tenancy import site_scope
    from mis.ctf.services import ctf_import_run
    from mis.models import CtfImport, Pupil

    school = _school()
    data = _file()
    today = timezone.localdate()
    actor = system_actor(site=school)
    from accounts.models import User

    uploader, _ = User.objects.get_or_create(
        email="bench-ctf@example.test", defaults={"full_name": "Bench CTF"}
    )

    def product() -> float:
        with transaction.atomic(), site_scope(school.pk):
            ctf_import = CtfImport.objects.create(
                site=school,
                uploaded_by=uploader,
                original_name="bench.xml",
                content=data.decode("utf-8"),
                pupils_in_file=PUPILS,
            )
            start = time.perf_counter()
            ctf_import_run(site=school, ctf_import=ctf_import, enrolled_on=today, actor=actor)
            spent = time.perf_counter() - start
            count = Pupil.objects.filter(site=school).count()
            transaction.set_rollback(True)
        if count != PUPILS:
            raise AssertionError(f"the import left {count} pupils, not {PUPILS}")
        return spent

    def floor() -> float:
        with transaction.atomic(), site_scope(school.pk):
            start = time.perf_counter()
            with connection.cursor() as cursor:
                written = _floor(cursor, school.pk, data, today)
            spent = time.perf_counter() - start
            transaction.set_rollback(True)
        if written != PUPILS:
            raise AssertionError(f"the floor wrote {written} pupils, not {PUPILS}")
        return spent

    product()
    floor()  # warm both
    runs: dict[str, list[float]] = {"import": [], "floor": []}
    for rep in range(REPEAT):
        order = [("import", product), ("floor", floor)]
        for name, action in order if rep % 2 == 0 else order[::-1]:
            gc.collect()
            runs[name].append(action())
    imported, raw = median_of(runs["import"]), median_of(runs["floor"])
    bench.goal(
        "ctf_import_2000_vs_raw_insert",
        imported.median / raw.median,
        detail=(
            f"import {imported}, parse + raw INSERT {raw}: {PUPILS:,} pupils, "
            f"{len(data) / 1024 / 1024:.1f} MB, {PUPILS * 5:,} rows, each in a rolled-back "
            "transaction bound to the school"
        ),
    )
    with connection.cursor() as cursor:
        for table in (
            "mis_pupil",
            "mis_pupiladdress",
            "mis_fsmperiod",
            "mis_senperiod",
            "mis_priorattendance",
        ):
            cursor.execute(f"ANALYZE {table}")
