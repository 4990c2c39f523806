"""BG/NBD (Fader, Hardie & Lee 2005): how likely a player is still "alive", and how often they will come.

Each player is summarised as (x, t_x, T): repeat active periods, the time of the last one and
the time observed since the first, in one unit (days for casino players). Players come at a
Poisson rate while alive and may drop out after any visit. It is the baseline the churn model
must beat (P(alive)) and, with an average net gaming revenue per active day, the
lifetime-value estimate. Gamma-Gamma is not used for casino spend: heavy-tailed stakes make
its fit unstable.

Fitted by maximum likelihood with statsmodels' GenericLikelihoodModel on log parameters, so
the four stay positive.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import gammaln, hyp2f1
from statsmodels.base.model import GenericLikelihoodModel
from statsmodels.tools.sm_exceptions import ConvergenceWarning, HessianInversionWarning

_START = np.log([1.0, 1.0, 1.0, 1.0])
# Each parameter stays within 1e-8..1e8. Where the optimum lies at infinity (players who all
# come at the same rate: no spread), the search would otherwise go on to values where gammaln's
# differences cancel to a log-likelihood of exactly 0 and "win" there, predicting nothing.
_LOG_BOUND = np.log(1e8)


def _parameters(log_params: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.exp(np.clip(log_params, -_LOG_BOUND, _LOG_BOUND))


class _BgNbdLikelihood(GenericLikelihoodModel):  # type: ignore[misc]
    def __init__(self, x: NDArray[np.float64], t_x: NDArray[np.float64], T: NDArray[np.float64]) -> None:  # noqa: N803
        super().__init__(endog=x, extra_params_names=["log_r", "log_alpha", "log_a", "log_b"])
        self.x, self.t_x, self.T = x, t_x, T

    def loglikeobs(self, params: NDArray[np.float64]) -> NDArray[np.float64]:
        return _loglike(_parameters(params), self.x, self.t_x, self.T)


def _loglike(params: NDArray[np.float64], x: NDArray[np.float64], t_x: NDArray[np.float64],
             T: NDArray[np.float64]) -> NDArray[np.float64]:  # noqa: N803
    r, alpha, a, b = params
    common = (gammaln(r + x) - gammaln(r) + r * np.log(alpha)
              + gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x))
    stays = -(r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore", invalid="ignore"):
        drops = np.where(x > 0, np.log(a) - np.log(np.maximum(b + x - 1, 1e-300)) - (r + x) * np.log(alpha + t_x),
                         -np.inf)
    return common + np.logaddexp(stays, drops)


@dataclass(frozen=True)
class BgNbd:
    """Fitted BG/NBD parameters: r and alpha shape the visit rate, a and b the drop-out."""

    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float

    @classmethod
    def fit(cls, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> BgNbd:  # noqa: N803
        arrays = [np.asarray(v, dtype=float) for v in (x, t_x, T)]
        _check(*arrays)
        model = _BgNbdLikelihood(*arrays)
        with warnings.catch_warnings():
            # Players who all come at the same rate put the optimum at infinite r and alpha (a
            # gamma with no spread): the fit then stops short of it, and still predicts as well.
            warnings.simplefilter("ignore", ConvergenceWarning)
            warnings.simplefilter("ignore", HessianInversionWarning)
            result = model.fit(start_params=_START, method="bfgs", maxiter=2000, disp=False)
        if not np.all(np.isfinite(result.params)):
            raise ValueError("BG/NBD fit did not converge: too little history to estimate from")
        r, alpha, a, b = _parameters(result.params)
        return cls(float(r), float(alpha), float(a), float(b), float(model.loglike(result.params)))

    def p_alive(self, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> NDArray[np.float64]:  # noqa: N803
        """The probability that each player has not dropped out by T."""
        x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))  # noqa: N806
        ratio = self._drop_odds(x, t_x, T)
        return 1.0 / (1.0 + ratio)

    def p_none(self, t: float, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> NDArray[np.float64]:  # noqa: N803
        """The probability of no activity at all in the next `t` units: dropped out, or alive and quiet.

        An alive player's rate, given x visits in T, is Gamma(r + x, alpha + T); dropping out
        happens only at a visit, so a quiet spell leaves the alive alive.
        """
        x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))  # noqa: N806
        alive = self.p_alive(x, t_x, T)
        quiet = ((self.alpha + T) / (self.alpha + T + t)) ** (self.r + x)
        return (1.0 - alive) + alive * quiet

    def expected(self, t: float, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> NDArray[np.float64]:  # noqa: N803
        """Expected active periods in the next `t` units for each player, given their history."""
        x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))  # noqa: N806
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        future = 1.0 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp2f1(r + x, b + x, a + b + x - 1,
                                                                            t / (alpha + T + t))
        with np.errstate(all="ignore"):
            expected = (a + b + x - 1) / (a - 1) * future / (1.0 + self._drop_odds(x, t_x, T))
        # Near the no-spread boundary (r and alpha huge) the hypergeometric term overflows; there
        # the posterior rate is (r + x) / (alpha + T) for everyone alive, over the next t.
        boundary = self.p_alive(x, t_x, T) * (r + x) / (alpha + T) * t
        return np.where(np.isfinite(expected), expected, boundary)

    def _drop_odds(self, x: NDArray[np.float64], t_x: NDArray[np.float64], T: NDArray[np.float64]) -> NDArray[np.float64]:  # noqa: N803
        with np.errstate(divide="ignore", invalid="ignore"):
            odds = self.a / (self.b + x - 1) * ((self.alpha + T) / (self.alpha + t_x)) ** (self.r + x)
        return np.where(x > 0, odds, 0.0)


def _check(x: NDArray[np.float64], t_x: NDArray[np.float64], T: NDArray[np.float64]) -> None:  # noqa: N803
    if not (len(x) == len(t_x) == len(T)) or len(x) < 5:
        raise ValueError("x, t_x and T: one value per player, at least 5 players")
    if np.any(x < 0) or np.any(t_x < 0) or np.any(t_x > T) or np.any((x == 0) & (t_x != 0)):
        raise ValueError("x, t_x, T: need x >= 0, 0 <= t_x <= T, and t_x = 0 where x = 0")
