"""Importing the census and performance releases (level 1: "DfE Data") through the published
figures importer: each figure as the CSV text says, markers as NULL, counts beside rates,
breakdown lines skipped, bad lines rejected with a reason, bad files changing nothing."""

import io
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from analytics.models import PublishedFigures
from analytics.published_import import (
    CENSUS,
    KEY_STAGE_2,
    KEY_STAGE_4,
    SEN,
    PublishedFileError,
    published_figures_import,
)
from bench.published import census_csv, ks2_csv, ks4_csv, sen_csv
from tests.institutions.factories import SchoolFactory

pytestmark = pytest.mark.django_db

DATA = Path(__file__).resolve().parent.parent / "data"
CENSUS_FILE = DATA / "ees-census-school-level-sample.csv"
SEN_FILE = DATA / "ees-sen-school-level-sample.csv"
KS2_FILE = DATA / "ees-ks2-school-level-sample.csv"
KS4_FILE = DATA / "ees-ks4-school-level-sample.csv"
URNS = ("136197", "113944", "146542", "111871", "143292", "108490", "140928", "112537")


@pytest.fixture
def schools():
    return {urn: SchoolFactory(urn=urn) for urn in URNS}


def run(data: bytes):
    return published_figures_import(stream=io.BytesIO(data))


def figures(urn: str | None, year: str) -> PublishedFigures:
    if urn is None:
        return PublishedFigures.objects.get(school=None, time_period=year)
    return PublishedFigures.objects.get(school__urn=urn, time_period=year)


def values(urn: str | None, year: str, *names: str) -> dict:
    row = figures(urn, year)
    return {name: getattr(row, name) for name in names}


def snapshot() -> list[dict]:
    return list(PublishedFigures.objects.order_by("id").values())


CENSUS_FIELDS = (
    "pupils_headcount",
    "fsm_eligible",
    "fsm_eligible_percent",
    "eal_pupils",
    "eal_percent",
)
SEN_FIELDS = ("sen_support", "sen_support_percent", "ehc_plan", "ehc_plan_percent")
KS2_FIELDS = (
    "ks2_eligible_pupils",
    "ks2_rwm_expected_percent",
    "ks2_rwm_higher_percent",
    "ks2_read_scaled_score",
    "ks2_mat_scaled_score",
    "ks2_read_progress",
    "ks2_writ_progress",
    "ks2_mat_progress",
)
KS4_FIELDS = (
    "ks4_pupils",
    "attainment8",
    "progress8",
    "progress8_lower",
    "progress8_upper",
    "engmath_95_percent",
    "ebacc_entering_percent",
    "ebacc_aps",
)


def D(text: str) -> Decimal:
    return Decimal(text)


def test_the_census_file_is_stored_as_its_text_says(schools):
    result = run(CENSUS_FILE.read_bytes())

    assert result.releases == [CENSUS]
    assert result.fields == CENSUS_FIELDS
    assert (result.rows_read, result.schools_written, result.national_rows) == (7, 5, 1)
    assert result.skipped == {"unknown school": 1}  # 199999 is not in the register
    assert result.rejected == []
    assert values("136197", "202425", *CENSUS_FIELDS) == {
        "pupils_headcount": 469,
        "fsm_eligible": 121,
        "fsm_eligible_percent": D("25.80"),
        "eal_pupils": 58,
        "eal_percent": D("12.40"),
    }
    # "x": not available, the count and its rate alike.
    assert values("113944", "202425", "pupils_headcount", "eal_pupils", "eal_percent") == {
        "pupils_headcount": 597,
        "eal_pupils": None,
        "eal_percent": None,
    }
    assert values(None, "202425", *CENSUS_FIELDS) == {
        "pupils_headcount": 9089322,
        "fsm_eligible": 2323416,
        "fsm_eligible_percent": D("25.60"),
        "eal_pupils": 1843621,
        "eal_percent": D("20.30"),
    }
    # Nothing of another release was written.
    assert not PublishedFigures.objects.exclude(sessions_possible=None).exists()
    assert not PublishedFigures.objects.exclude(ks4_pupils=None).exists()


def test_the_sen_file_is_stored_beside_the_census_of_the_same_year(schools):
    run(CENSUS_FILE.read_bytes())
    result = run(SEN_FILE.read_bytes())

    assert result.releases == [SEN]
    assert values("136197", "202425", "pupils_headcount", *SEN_FIELDS) == {
        "pupils_headcount": 469,  # the census's, left as it was
        "sen_support": 61,
        "sen_support_percent": D("13.00"),
        "ehc_plan": 14,
        "ehc_plan_percent": D("3.00"),
    }
    assert values("113944", "202425", "ehc_plan", "ehc_plan_percent") == {
        "ehc_plan": None,  # "c": confidential
        "ehc_plan_percent": None,
    }
    assert PublishedFigures.objects.filter(time_period="202425").count() == 6


def test_the_key_stage_2_file_keeps_each_school_line_and_skips_its_breakdowns(schools):
    result = run(KS2_FILE.read_bytes())

    assert result.releases == [KEY_STAGE_2]
    assert result.skipped == {"breakdown_topic “Disadvantage”": 1}
    assert result.rejected == []
    assert result.duplicates == []  # the breakdown line is not the school given twice
    assert values("136197", "202324", *KS2_FIELDS) == {
        "ks2_eligible_pupils": 68,
        "ks2_rwm_expected_percent": D("66.00"),
        "ks2_rwm_higher_percent": D("10.00"),
        "ks2_read_scaled_score": D("105.00"),
        "ks2_mat_scaled_score": D("106.00"),
        "ks2_read_progress": D("0.40"),
        "ks2_writ_progress": D("-1.20"),  # progress scores may be negative
        "ks2_mat_progress": D("1.10"),
    }
    # Two pupils: every figure but the count is "c" (confidential): NULL, count kept.
    assert values("146542", "202324", *KS2_FIELDS) == {
        "ks2_eligible_pupils": 2,
        **dict.fromkeys(KS2_FIELDS[1:]),
    }
    assert values(None, "202324", "ks2_eligible_pupils", "ks2_read_progress") == {
        "ks2_eligible_pupils": 664000,
        "ks2_read_progress": None,  # "z": not applicable nationally
    }


def test_the_key_stage_4_file_is_stored_as_its_text_says(schools):
    result = run(KS4_FILE.read_bytes())

    assert result.releases == [KEY_STAGE_4]
    assert result.skipped == {"breakdown_topic “Sex”": 1}
    assert result.schools_written == 4
    assert values("143292", "202324", *KS4_FIELDS) == {
        "ks4_pupils": 79,
        "attainment8": D("41.30"),
        "progress8": D("-0.45"),
        "progress8_lower": D("-0.78"),
        "progress8_upper": D("-0.12"),
        "engmath_95_percent": D("34.20"),
        "ebacc_entering_percent": D("21.50"),
        "ebacc_aps": D("3.61"),
    }
    # z, SUPP, low and x all store NULL; the published figures beside them are kept.
    assert values("140928", "202324", *KS4_FIELDS) == {
        "ks4_pupils": 74,
        "attainment8": D("46.00"),
        **dict.fromkeys(KS4_FIELDS[2:]),
    }


KS4_HEADER = (
    "time_period,time_identifier,geographic_level,school_urn,breakdown_topic,pupil_count,"
    "attainment8_average,progress8_average,engmath_95_percent,ebacc_aps_average"
)


def ks4(*rows: str) -> bytes:
    return ("\n".join([KS4_HEADER, *rows]) + "\n").encode()


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("7.5,41.3,0.1,34.2,3.6", "pupil_count “7.5” is not a whole number"),
        ("-3,41.3,0.1,34.2,3.6", "pupil_count “-3” is negative"),
        ("79,91,0.1,34.2,3.6", "attainment8_average “91” is not between 0 and 90"),
        ("79,-1,0.1,34.2,3.6", "attainment8_average “-1” is not between 0 and 90"),
        ("79,41.3,=1+1,34.2,3.6", "progress8_average “=1+1” is not a number"),
        ("79,41.3,+0.4,34.2,3.6", "progress8_average “+0.4” is not a number"),
        ("79,41.3,-100,34.2,3.6", "progress8_average “-100” is not between -99.99 and 99.99"),
        ("79,41.3,0.1,101,3.6", "engmath_95_percent “101” is more than 100 (it is a percentage)"),
        ("79,41.3,0.1,34.2,9.5", "ebacc_aps_average “9.5” is not between 0 and 9"),
    ],
)
def test_a_bad_figure_rejects_its_line_with_the_reason(schools, line, reason):
    result = run(
        ks4(
            f"202324,Academic year,School,143292,Total,{line}",
            "202324,Academic year,School,108490,Total,214,52.6,0.38,58.4,4.72",
        )
    )

    [rejection] = result.rejected
    assert (rejection.line, rejection.urn, rejection.reason) == (2, "143292", reason)
    assert list(PublishedFigures.objects.values_list("school__urn", flat=True)) == ["108490"]


def test_a_scaled_score_outside_80_to_120_rejects_its_line(schools):
    header = "time_period,time_identifier,geographic_level,school_urn,avg_read_scaled_score"
    result = run(f"{header}\n202324,Academic year,School,136197,79\n".encode())

    assert [r.reason for r in result.rejected] == [
        "avg_read_scaled_score “79” is not between 80 and 120"
    ]
    assert not PublishedFigures.objects.exists()


def test_a_blank_breakdown_is_skipped_not_taken_for_the_school(schools):
    result = run(ks4("202324,Academic year,School,143292,,79,41.3,0.1,34.2,3.6"))

    assert result.skipped == {"breakdown_topic “”": 1}
    assert not PublishedFigures.objects.exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            b"time_period,time_identifier,geographic_level,school_urn,urn,pupil_count\n"
            b"202324,Academic year,School,143292,143292,79\n",
            "both school_urn and urn",
        ),
        (
            b"time_period,time_identifier,geographic_level,urn,pupil_count,Pupil_Count\n"
            b"202324,Academic year,School,143292,79,79\n",
            "The column pupil_count appears more than once",
        ),
        (
            b"time_period,time_identifier,geographic_level,urn,sex,SEX,pupil_count\n"
            b"202324,Academic year,School,143292,Total,Total,79\n",
            "The column sex appears more than once",
        ),
        (
            ks4(
                "202324,Academic year,School,143292,Total,79,41.3,0.1,34.2,3.6",
                '202324,Academic year,School,108490,Total,214,"' + "9" * 1_000_000 + '",1,1,1',
            ),
            "Line 3 cannot be read as CSV",
        ),
    ],
)
def test_a_file_refused_as_a_whole_changes_nothing(schools, data, message):
    run(KS4_FILE.read_bytes())
    before = snapshot()

    with pytest.raises(PublishedFileError, match=message):
        run(data)

    assert snapshot() == before


def test_importing_a_release_leaves_the_other_releases_figures_as_they_were(schools):
    run(CENSUS_FILE.read_bytes())
    run(KS4_FILE.read_bytes())
    census = values("143292", "202425", *CENSUS_FIELDS)
    # The key stage 4 file again, with other figures: only its columns change.
    text = KS4_FILE.read_text().replace(",79,41.3,", ",80,41.9,")
    run(text.encode())

    assert values("143292", "202324", "ks4_pupils", "attainment8") == {
        "ks4_pupils": 80,
        "attainment8": D("41.90"),
    }
    assert values("143292", "202425", *CENSUS_FIELDS) == census


def test_the_command_imports_every_release_and_names_it(schools, capsys):
    call_command("import_published", str(CENSUS_FILE), str(SEN_FILE), str(KS2_FILE), str(KS4_FILE))

    out = capsys.readouterr().out
    for release in (CENSUS, SEN, KEY_STAGE_2, KEY_STAGE_4):
        assert f"Releases: {release}" in out
    assert "1 breakdown_topic “Sex”" in out
    assert figures("108490", "202324").attainment8 == D("52.60")
    assert figures("108490", "202425").pupils_headcount == 1138


def test_the_command_reports_a_refused_file_and_imports_the_others(schools, tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"URN,EstablishmentName\n143292,Westbrook\n")

    with pytest.raises(CommandError, match="1 of 2 files not imported"):
        call_command("import_published", str(bad), str(KS4_FILE))

    assert figures("143292", "202324").progress8 == D("-0.45")


def test_the_generated_files_of_the_bench_and_demo_import_whole():
    entries = [
        (SchoolFactory(urn=urn, phase=phase).urn, pupils, phase)
        for urn, pupils, phase in (
            ("130001", 210, "Primary"),
            ("130002", 1100, "Secondary"),
            ("130003", 60, "Nursery"),
            ("130004", 1500, "All-through"),
        )
    ]
    years = ["202324", "202425"]
    for make in (census_csv, sen_csv, ks2_csv, ks4_csv):
        result = run(make(entries, years=years, seed=7).encode())
        assert result.rejected == [], make
        assert set(result.skipped) <= {"breakdown_topic “Sex”"}, make
        assert result.national_rows == 2
    primary = figures("130001", "202425")
    assert primary.fsm_eligible_percent == (
        Decimal(primary.fsm_eligible * 100) / primary.pupils_headcount
    ).quantize(Decimal("0.1"), ROUND_HALF_UP)
    assert primary.ks2_eligible_pupils and primary.ks4_pupils is None
    secondary = figures("130004", "202425")
    assert secondary.progress8_lower < secondary.progress8 < secondary.progress8_upper
    assert figures("130003", "202425").ks2_eligible_pupils is None  # a nursery: none
