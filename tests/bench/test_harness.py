"""The bench's report: one line per goal, exactly ``name: value (goal)``, MISS when missed,
skips and errors on the lines they leave unmeasured."""

import io

import pytest

from bench import harness
from bench.__main__ import bench_database_url
from bench.harness import Bench, Goal, measure, median_of, scenario
from bench.scenarios import SCENARIOS


def run(*scenarios) -> tuple[list[str], object]:
    out, err = io.StringIO(), io.StringIO()
    bench = Bench(database_url="postgres://unused/none", out=out, err=err)
    summary = bench.run(scenarios)
    return out.getvalue().splitlines(), summary


def test_goal_lines_read_name_value_goal_and_miss():
    @scenario("demo", goals={"fast_enough": "<= 3", "big_enough": ">= 0.8"})
    def demo(bench):
        bench.goal("fast_enough", 2.414, detail="import 2.4 s, COPY 1.0 s")
        bench.goal("big_enough", 0.5)
        bench.info("second_run", "1.30 s")

    lines, summary = run(demo)
    assert lines[0] == "fast_enough: 2.41x (goal <= 3)"
    assert lines[1] == "    import 2.4 s, COPY 1.0 s"
    assert lines[2] == "big_enough: 0.50x (goal >= 0.8) MISS"
    assert lines[3] == "second_run: 1.30 s (info)"
    assert lines[-1].startswith("summary: 1 met, 1 missed, 0 skipped, 0 errors")
    assert (summary.met, summary.missed, summary.errors) == (1, 1, 0)


def test_a_skip_or_an_error_is_reported_on_the_goal_lines_it_leaves():
    @scenario("not_yet", goals={"not_yet": "<= 15"})
    def not_yet(bench):
        bench.skip("the Browse page is not there yet")

    @scenario("broken", goals={"broken_a": "<= 1", "broken_b": "= 1"})
    def broken(bench):
        bench.goal("broken_a", 0.5)
        raise RuntimeError("boom")

    lines, summary = run(not_yet, broken)
    assert lines[0] == "not_yet: SKIPPED (goal <= 15) - the Browse page is not there yet"
    assert lines[1] == "broken_a: 0.50x (goal <= 1)"
    assert lines[2] == "broken_b: ERROR (goal = 1) - RuntimeError: boom"
    assert (summary.skipped, summary.errors) == (1, 1)


def test_goals_and_timing():
    assert Goal.parse("<= 1.3").met_by(1.3)
    assert not Goal.parse(">= 0.8").met_by(0.79)
    assert str(Goal.parse("= 1.0")) == "goal = 1"
    with pytest.raises(ValueError):
        Goal.parse("< 3")
    assert median_of([0.3, 0.1, 0.2]).median == 0.2
    assert median_of([4.0, 1.0, 3.0, 2.0]).median == 2.5
    assert str(median_of([0.003, 0.001, 0.002])) == "2.0 ms (median of 3)"


def test_measure_times_each_run_after_the_warmup(monkeypatch):
    # A clock that advances 3, 1 and 2 seconds across the three measured runs.
    ticks = iter([10.0, 13.0, 20.0, 21.0, 30.0, 32.0])
    monkeypatch.setattr(harness.time, "perf_counter", lambda: next(ticks))
    calls = []
    timing = measure(lambda: calls.append(1), repeat=3, warmup=2)
    assert len(calls) == 5
    assert timing.runs == (3.0, 1.0, 2.0)
    assert timing.median == 2.0


def test_the_bench_database_sits_beside_the_projects():
    url = "postgres://matmis@127.0.0.1:54329/matmis"
    assert bench_database_url(url) == "postgres://matmis@127.0.0.1:54329/matmis_bench"
    assert bench_database_url(bench_database_url(url)) == bench_database_url(url)


def test_every_scenario_declares_its_goal_lines():
    names = [goal for s in SCENARIOS for goal in s.goals]
    assert "gias_import_vs_copy" in names
    assert "typo_search_scaling" in names
    assert len(names) == len(set(names))
