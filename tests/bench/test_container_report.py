"""`make bench`'s verdicts on made-up rounds: a goal is MET only when every round meets it.

Pure logic, no Docker: the figures are invented so that each rule is tested at its edge.
"""

import pytest
from container_report import GOAL_CONNECTIONS, STACKS, judge
from wrk_output import WrkFigures, parse

REQUESTS = ("GET /", "GET key")


def point(rps: float, p99: float = 10.0, errors: int = 0) -> dict:
    return {"wrk": WrkFigures(rps=rps, p50=1.0, p99=p99, errors=errors, requests=int(rps))}


def rounds_where() -> dict:
    """Three rounds in which every goal is met with room to spare; tests change one point."""
    original = [point(1000, p99=20.0)] * 3
    measured = {("original", "GET /", count): original for count in GOAL_CONNECTIONS}
    for stack in STACKS:
        for count in GOAL_CONNECTIONS:
            measured[stack, "GET /", count] = [point(2000, p99=15.0)] * 3
            measured[stack, "GET key", count] = [point(3000, p99=12.0)] * 3
    return measured


def verdicts(measured: dict, rounds: int = 3) -> dict:
    return {(goal.stack, goal.name): goal.met for goal in judge(measured, rounds)}


def test_every_goal_is_met_when_every_round_meets_it():
    results = verdicts(rounds_where())
    assert len(results) == 4 * len(STACKS)
    assert all(results.values())


def test_a_page_ratio_met_by_the_median_round_but_not_by_one_round_is_not_met():
    # 1,600 / 1,400 / 1,700 req/s against 1,000: the median round is 1.6x, one round 1.4x.
    page = [point(1600), point(1400), point(1700)]
    results = verdicts(rounds_where() | {("prod.yml", "GET /", 64): page})
    assert results["prod.yml", "GET / >= 1.5x the original's GET /"] is False
    assert results["dev stack", "GET / >= 1.5x the original's GET /"] is True


def test_each_round_is_set_against_the_original_of_the_same_round():
    # The app's 2,000 req/s is 2x an original of 1,000 but only 1.67x one of 1,200.
    original = [point(1000, p99=20.0), point(1200, p99=20.0), point(1000, p99=20.0)]
    key = [point(2000)] * 3
    measured = rounds_where() | {
        ("original", "GET /", 16): original,
        ("dev stack", "GET key", 16): key,
    }
    results = verdicts(measured)
    assert results["dev stack", "GET key >= 2x the original's GET /"] is False


def test_exactly_at_the_goal_is_met():
    page = [point(1500)] * 3  # 1.5x of 1,000 exactly
    results = verdicts(rounds_where() | {("dev stack", "GET /", 16): page})
    assert results["dev stack", "GET / >= 1.5x the original's GET /"] is True


def test_a_tail_worse_than_the_originals_in_one_round_is_not_met():
    page = [point(2000, p99=15.0), point(2000, p99=25.0), point(2000, p99=15.0)]
    results = verdicts(rounds_where() | {("dev stack", "GET /", 16): page})
    assert results["dev stack", "p99 at 16 conns <= the original's"] is False
    assert results["prod.yml", "p99 at 16 conns <= the original's"] is True


def test_one_error_in_one_round_of_one_point_fails_zero_errors():
    key = [point(3000), point(3000), point(3000, errors=1)]
    results = verdicts(rounds_where() | {("prod.yml", "GET key", 64): key})
    assert results["prod.yml", "zero errors in every round"] is False
    assert results["dev stack", "zero errors in every round"] is True


def test_an_unmeasured_goal_point_is_not_met():
    measured = {key: points for key, points in rounds_where().items() if key[2] != 64}
    goals = judge(measured, 3)
    assert goals and not any(goal.met for goal in goals)
    assert "64 connections not measured" in goals[0].figures


@pytest.mark.parametrize(
    ("tail", "errors", "kinds"),
    [
        ("Not 2xx: 7\n", 7, "not 2xx 7"),  # the 303s and 401s wrk itself does not count
        ("  Non-2xx or 3xx responses: 3\nNot 2xx: 7\n", 7, "not 2xx 7"),  # counted once
        ("  Non-2xx or 3xx responses: 3\n", 3, "non-2xx 3"),  # wrk alone, without the script
        (
            "  Socket errors: connect 0, read 2, write 0, timeout 1\nNot 2xx: 0\n",
            3,
            "read 2, timeout 1",
        ),
    ],
)
def test_answers_outside_2xx_count_as_errors(tail, errors, kinds):
    output = (
        "  Latency Distribution\n     50%    1.00ms\n     75%    2.00ms\n     90%    3.00ms\n"
        "     99%   12.50ms\n  1000 requests in 1.00s, 1.00MB read\n" + tail
        + "Requests/sec:   1000.00\nTransfer/sec:      1.00MB\n"
    )  # fmt: skip
    figures = parse(output)
    assert (figures.errors, figures.error_kinds, figures.p99) == (errors, kinds, 12.5)
