"""The generated register (bench.register): the national export's layout, the same bytes
for the same arguments, and the groups its plan promises."""

import csv
import io
import re
from collections import Counter
from pathlib import Path

import pytest

from bench.register import (
    COLUMNS,
    DEMO_HEAD_SCHOOL,
    DEMO_LA_CODE,
    DEMO_LA_NAME,
    DEMO_TRUST_CODE,
    DEMO_TRUST_NAME,
    register_plan,
    write_register,
)

# The register sample, whose header line the generator reproduces byte for byte.
SAMPLE = Path(__file__).resolve().parents[1] / "data" / "gias-sample.csv"
CURRENT = {"Open", "Open, but proposed to close"}
DATE = re.compile(r"^[0-9]{2}-[0-9]{2}-[0-9]{4}$")


def generate(**arguments) -> bytes:
    stream = io.BytesIO()
    write_register(stream, **arguments)
    return stream.getvalue()


def read(data: bytes, encoding: str = "cp1252") -> list[dict[str, str]]:
    rows = list(csv.reader(io.StringIO(data.decode(encoding), newline="")))
    assert rows[0] == list(COLUMNS)
    assert {len(row) for row in rows} == {140}
    return [dict(zip(COLUMNS, row, strict=True)) for row in rows[1:]]


def current_per(rows: list[dict[str, str]], column: str) -> Counter:
    return Counter(
        row[column] for row in rows if row["EstablishmentStatus (name)"] in CURRENT and row[column]
    )


@pytest.fixture(scope="module")
def small() -> bytes:
    return generate(establishments=2000, seed=11)


def test_header_is_the_registers_header_line(small):
    with SAMPLE.open("rb") as sample:
        assert small.startswith(sample.readline())
    assert len(COLUMNS) == 140


def test_the_same_arguments_give_the_same_bytes(small):
    assert generate(establishments=2000, seed=11) == small
    assert generate(establishments=2000, seed=12) != small


def test_it_round_trips_through_the_csv_module_with_crlf_line_ends(small):
    rows = read(small)
    assert len(rows) == 2000
    assert small.endswith(b"\r\n")
    assert small.count(b"\r\n") >= 2001
    assert b'"' in small  # names and LA names with commas are quoted


def test_records_look_like_the_register(small):
    rows = read(small)
    urns = [row["URN"] for row in rows]
    assert all(re.fullmatch(r"[0-9]{6}", urn) for urn in urns)
    assert len(set(urns)) == len(urns)
    statuses = Counter(row["EstablishmentStatus (name)"] for row in rows)
    assert set(statuses) == {"Open", "Closed", "Open, but proposed to close", "Proposed to open"}
    assert 0.46 <= statuses["Open"] / len(rows) <= 0.50
    assert all(re.fullmatch(r"[0-9]{3}", row["LA (code)"]) for row in rows)
    assert all(
        re.fullmatch(r"[0-9]{4}", row["Trusts (code)"]) for row in rows if row["Trusts (code)"]
    )
    for column in ("OpenDate", "CloseDate", "OfstedLastInsp", "LastChangedDate"):
        assert all(DATE.match(row[column]) for row in rows if row[column])
    assert any(row["PercentageFSM"] == "SUPP" for row in rows)
    assert any("’" in row["EstablishmentName"] for row in rows)
    ratings = Counter(row["OfstedRating (name)"] for row in rows)
    assert ratings[""] > 0.1 * len(rows)
    assert {"Requires improvement", "Requires Improvement"} <= set(ratings)
    assert all(row["HeadPreferredJobTitle"] for row in rows if row["HeadLastName"])
    assert {row["PhaseOfEducation (name)"] for row in rows} >= {"Primary", "Secondary", "Nursery"}


def test_the_plan_gives_each_groups_current_schools(small):
    rows = read(small)
    plan = register_plan(establishments=2000, seed=11)
    by_la = current_per([row for row in rows if row["LA (name)"] != "Does not apply"], "LA (code)")
    assert {g.code: g.current_schools for g in plan.local_authorities if g.current_schools} == by_la
    by_trust = current_per(rows, "Trusts (code)")
    assert {g.code: g.current_schools for g in plan.trusts if g.current_schools} == by_trust
    assert plan.trust_of_size(3).current_schools == 3
    assert plan.largest_local_authority().current_schools == max(by_la.values())


def test_england_at_full_scale_has_the_groups_the_bench_needs():
    plan = register_plan(establishments=50_000, seed=1)
    assert plan.current_schools == 24_500
    assert 145 <= len(plan.local_authorities) <= 155
    assert plan.largest_local_authority().current_schools == 600
    assert 1250 <= len(plan.trusts) <= 1350
    assert plan.largest_trust().current_schools == 100
    sizes = [trust.current_schools for trust in plan.trusts]
    assert sum(2 <= size <= 15 for size in sizes) > len(sizes) / 2
    assert plan.trust_of_size(5).current_schools == 5


def test_utf8_with_a_byte_order_mark_holds_the_same_text():
    cp1252 = generate(establishments=300, seed=5)
    utf8 = generate(establishments=300, seed=5, encoding="utf-8-sig")
    assert utf8.startswith(b"\xef\xbb\xbf")
    assert utf8.decode("utf-8-sig") == cp1252.decode("cp1252")


@pytest.mark.parametrize("seed", [1, 2026])
def test_the_demo_profile_has_northshire_and_the_oak_ridge_trust(seed):
    rows = read(generate(establishments=4000, seed=seed, profile="demo"))
    assert len(rows) == 4000
    northshire = [row for row in rows if row["LA (code)"] == DEMO_LA_CODE]
    assert {row["LA (name)"] for row in northshire} == {DEMO_LA_NAME}
    assert 280 <= sum(row["EstablishmentStatus (name)"] == "Open" for row in northshire) <= 300
    assert current_per(rows, "LA (code)")[DEMO_LA_CODE] == 300
    oak_ridge = [row for row in rows if row["Trusts (code)"] == DEMO_TRUST_CODE]
    assert {row["Trusts (name)"] for row in oak_ridge} == {DEMO_TRUST_NAME}
    assert current_per(rows, "Trusts (code)")[DEMO_TRUST_CODE] == 40
    # Unique names, so the sites get clean hosts.
    assert [row["Trusts (code)"] for row in rows if row["Trusts (name)"] == DEMO_TRUST_NAME] == [
        DEMO_TRUST_CODE
    ] * len(oak_ridge)
    (head_school,) = [row for row in rows if row["EstablishmentName"] == DEMO_HEAD_SCHOOL]
    assert head_school["EstablishmentStatus (name)"] == "Open"
    assert head_school["Trusts (code)"] == DEMO_TRUST_CODE
    assert head_school["LA (code)"] == DEMO_LA_CODE
    assert len(current_per(rows, "LA (code)")) >= 4
    assert len(current_per(rows, "Trusts (code)")) >= 20
