"""The build-time table's verdict: the two-platform goal holds only if every round meets it."""

import image_builds


def round_of(cold_amd64: float, cold_both: float) -> dict[str, float]:
    return {"cold amd64": cold_amd64, "cold amd64+arm64": cold_both}


def test_met_when_every_round_is_within_the_ratio():
    assert image_builds.verdict([round_of(10, 15), round_of(10, 12)]) == "MET"


def test_one_round_over_the_ratio_fails_the_goal():
    rounds = [round_of(10, 12), round_of(10, 15.1), round_of(10, 11)]
    assert image_builds.verdict(rounds) == "NOT MET"
