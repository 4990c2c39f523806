"""BG/NBD reproduces Fader, Hardie & Lee (2005) on CDNOW, and behaves as P(alive) should."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from support import REPO

from crm.bgnbd import BgNbd


@pytest.fixture(scope="module")
def cdnow() -> tuple[list[float], list[float], list[float]]:
    with (REPO / "tests" / "data" / "cdnow_summary.csv").open() as file:
        rows = list(csv.DictReader(file))
    return tuple([float(r[k]) for r in rows] for k in ("x", "t_x", "T"))  # type: ignore[return-value]


@pytest.fixture(scope="module")
def fitted(cdnow: tuple[list[float], list[float], list[float]]) -> BgNbd:
    return BgNbd.fit(*cdnow)


def test_the_fit_reproduces_the_published_parameters(fitted: BgNbd) -> None:
    # Fader, Hardie & Lee (2005): r=0.243, alpha=4.414, a=0.793, b=2.426, LL -9582.4
    assert [round(v, 2) for v in (fitted.r, fitted.alpha, fitted.a, fitted.b)] == [0.24, 4.41, 0.79, 2.43]
    assert round(fitted.log_likelihood, 1) == -9582.4


def test_the_papers_example_customer_is_expected_to_buy_1_23_times_in_39_weeks(fitted: BgNbd) -> None:
    # The paper's worked example: x=2, t_x=30.43, T=38.86 -> 1.226 purchases in the next 39 weeks.
    assert round(float(fitted.expected(39, [2], [30.43], [38.86])[0]), 3) == 1.226


def test_p_alive_falls_the_longer_a_regular_has_been_away(fitted: BgNbd) -> None:
    last_seen = np.array([38.0, 30.0, 20.0, 10.0, 2.0])
    alive = fitted.p_alive(np.full(5, 4.0), last_seen, np.full(5, 38.86))
    assert np.all(np.diff(alive) < 0) and alive[0] > 0.85 and alive[-1] < 0.01
    assert fitted.p_alive([0], [0], [38.86])[0] == 1.0  # never came back: no evidence of dropping out


def test_the_fit_refuses_histories_that_cannot_be() -> None:
    with pytest.raises(ValueError, match="t_x <= T"):
        BgNbd.fit([1, 2, 0, 1, 3], [5, 6, 0, 9, 2], [8, 8, 8, 8, 8])
    with pytest.raises(ValueError, match="at least 5 players"):
        BgNbd.fit([1], [1], [2])


def test_a_quiet_spell_is_likelier_for_the_lapsed_and_over_longer_horizons(fitted: BgNbd) -> None:
    regular, lapsed = fitted.p_none(4, [10, 10], [38, 10], [38.86, 38.86])
    assert 0 < regular < lapsed < 1
    assert fitted.p_none(1, [10], [38], [38.86])[0] > fitted.p_none(26, [10], [38], [38.86])[0]


def test_players_who_all_come_at_one_rate_are_expected_to_keep_it() -> None:
    # No spread between players puts the optimum at infinite r and alpha; the fit must stop at a
    # finite one that still predicts, not at overflowed parameters that predict nothing.
    x, t_x, T = [8.0] * 19 + [9.0], [56.0] * 19 + [59.0], [60.0] * 20  # noqa: N806
    model = BgNbd.fit(x, t_x, T)
    expected = model.expected(365, x, t_x, T)
    assert model.log_likelihood < 0
    assert np.all((expected > 8 / 60 * 365 * 0.8) & (expected < 9 / 60 * 365 * 1.2)), expected
