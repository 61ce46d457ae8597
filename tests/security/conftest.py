"""Prints the probe matrix's summary at the end of the run (tests/security/test_probe_matrix)."""

from tests.security.probe import RESULTS


def pytest_terminal_summary(terminalreporter):
    if not RESULTS.probes:
        return
    write = terminalreporter.write_line
    terminalreporter.section("probe matrix")
    write(RESULTS.summary())
    statuses = ", ".join(f"{status}: {n}" for status, n in sorted(RESULTS.statuses.items()))
    write(f"answers by status: {statuses}; {RESULTS.seconds:.1f} s of probing")
    slowest = ", ".join(f"{k} {v:.1f}s" for k, v in RESULTS.route_seconds.most_common(8))
    write(f"slowest routes: {slowest}")
    write(f"emails the probes caused: {RESULTS.mails} (none to or about a foreign person)")
    for why, n in RESULTS.allowed.most_common():
        write(f"writes allowed ({n} probes): {why}")
    write("routes left out of the matrix:")
    for route, why in sorted(RESULTS.skipped.items()):
        write(f"  {route}: {why}")
    for outcome in RESULTS.leaks:
        write(
            f"LEAK {outcome.route} as {outcome.role} at {outcome.host} {outcome.method} "
            f"{outcome.path} [{outcome.mode}] -> {outcome.status}: {'; '.join(outcome.problems)}"
        )
