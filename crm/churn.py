"""The churn model: casino churn signals in, a calibrated probability and its reasons out.

A player "churns" when they have no real-money session and no deposit in the `horizon` days
after the as-of date. The features are the four signals the industry watches — falling
session frequency, falling stake, failed deposits not followed by a success, a sudden switch
of game category — plus recency against the player's own rhythm, tenure, deposit value, net
result and bonus share of stake. They are built here, vectorised, from per-player aggregates
that `adapters/churn_features.py` reads in SQL as of a date, so that no feature can see past it.

A logistic regression (statsmodels) on standardised features keeps every score explainable:
each feature's contribution is its coefficient times its standardised value, in log-odds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, get_args

import numpy as np
import statsmodels.api as sm
from numpy.typing import NDArray
from scipy.stats import rankdata

from crm.facts import ChurnSignal

Columns = Mapping[str, NDArray[np.float64]]
RECENT_DAYS, EARLIER_DAYS = 14, 42  # the recent window, and the one before it, both ending at as-of
RIDGE = 1e-4


def _per_week(count: NDArray[np.float64], days: int) -> NDArray[np.float64]:
    return count * 7.0 / days


def _signed_log(values: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.sign(values) * np.log1p(np.abs(values))


def features(raw: Columns) -> dict[str, NDArray[np.float64]]:
    """The model's inputs from the raw aggregates (see `adapters/churn_features.py` for each column)."""
    recent_rate = _per_week(raw["sessions_recent"], RECENT_DAYS)
    earlier_rate = _per_week(raw["sessions_earlier"], EARLIER_DAYS)
    with np.errstate(divide="ignore", invalid="ignore"):
        stake_recent = np.where(raw["sessions_recent"] > 0, raw["stake_recent"] / raw["sessions_recent"], 0.0)
        stake_earlier = np.where(raw["sessions_earlier"] > 0, raw["stake_earlier"] / raw["sessions_earlier"], 0.0)
        bonus_share = np.where(raw["stake_30d"] > 0, raw["bonus_stake_30d"] / raw["stake_30d"], 0.0)
    usual_gap = np.maximum(raw["usual_gap_days"], 1.0)
    return {
        "falling_frequency": np.log((earlier_rate + 0.5) / (recent_rate + 0.5)),
        "falling_stake": np.log((stake_earlier + 1.0) / (stake_recent + 1.0)),
        "failed_deposits": raw["abandoned_deposits_30d"],
        "game_switch": raw["category_divergence"],
        "long_absence": np.log1p(raw["days_since_active"] / usual_gap),
        "tenure": np.log1p(raw["tenure_days"]),
        "deposit_value": np.log1p(raw["deposits_90d"]),
        "net_result": _signed_log(raw["net_loss_30d"]),
        "bonus_share": bonus_share,
    }


FEATURES: tuple[str, ...] = get_args(ChurnSignal)[1:]  # one name for a feature and the signal it gives


def reason(feature: str, raw: Mapping[str, float]) -> str:
    """One feature's value in words staff understand."""
    match feature:
        case "falling_frequency":
            return (f"sessions per week fell from {_per_week(raw['sessions_earlier'], EARLIER_DAYS):.1f} "
                    f"to {_per_week(raw['sessions_recent'], RECENT_DAYS):.1f}")
        case "falling_stake":
            before = raw["stake_earlier"] / raw["sessions_earlier"] if raw["sessions_earlier"] else 0.0
            now = raw["stake_recent"] / raw["sessions_recent"] if raw["sessions_recent"] else 0.0
            return f"average stake per session fell from {before:.2f} to {now:.2f}"
        case "failed_deposits":
            return f"{int(raw['abandoned_deposits_30d'])} failed deposits not followed by a success in 30 days"
        case "game_switch":
            return f"game mix changed by {raw['category_divergence']:.0%} against the weeks before"
        case "long_absence":
            return (f"away {int(raw['days_since_active'])} days where the player usually comes back "
                    f"every {max(raw['usual_gap_days'], 1.0):.1f}")
        case "tenure":
            return f"a player for {int(raw['tenure_days'])} days"
        case "deposit_value":
            return f"deposited {raw['deposits_90d']:.2f} in 90 days"
        case "net_result":
            return f"net loss {raw['net_loss_30d']:.2f} in 30 days"
        case "bonus_share":
            share = raw["bonus_stake_30d"] / raw["stake_30d"] if raw["stake_30d"] else 0.0
            return f"{share:.0%} of stake played with bonus money"
    raise ValueError(f"unknown feature {feature!r}")


@dataclass(frozen=True)
class ChurnModel:
    """A fitted logistic regression over standardised FEATURES, as stored in Postgres."""

    intercept: float
    coefficients: dict[str, float]
    means: dict[str, float]
    scales: dict[str, float]

    @classmethod
    def fit(cls, raw: Columns, churned: NDArray[np.float64]) -> ChurnModel:
        x = np.column_stack([features(raw)[f] for f in FEATURES])
        means, scales = x.mean(axis=0), x.std(axis=0)
        varies = scales > 1e-12  # a feature that never varies here (no bonus play at all) says nothing
        scales[~varies] = 1.0
        design = sm.add_constant(((x - means) / scales)[:, varies], has_constant="add")
        params = logistic(design, churned)
        coefficients = np.zeros(len(FEATURES))
        coefficients[varies] = params[1:]
        return cls(float(params[0]), dict(zip(FEATURES, map(float, coefficients), strict=True)),
                   dict(zip(FEATURES, map(float, means), strict=True)), dict(zip(FEATURES, map(float, scales), strict=True)))

    def contributions(self, raw: Columns) -> dict[str, NDArray[np.float64]]:
        """Each feature's push on the log-odds of churning, per player."""
        values = features(raw)
        return {f: self.coefficients[f] * (values[f] - self.means[f]) / self.scales[f] for f in FEATURES}

    def predict(self, raw: Columns) -> NDArray[np.float64]:
        return sigmoid(self.intercept + sum(self.contributions(raw).values()))

    def top_signals(self, raw: Columns, n: int = 3) -> list[list[str]]:
        """Per player, the features pushing hardest towards churn, strongest first."""
        pushes = self.contributions(raw)
        matrix = np.column_stack([pushes[f] for f in FEATURES])
        order = np.argsort(-matrix, axis=1)[:, :n]
        names = np.array(FEATURES)[order].tolist()
        raising = (np.take_along_axis(matrix, order, axis=1) > 0).sum(axis=1).tolist()  # strongest first
        return [row[:k] for row, k in zip(names, raising, strict=True)]

    def to_json(self) -> dict[str, Any]:
        return {"intercept": self.intercept, "coefficients": self.coefficients, "means": self.means,
                "scales": self.scales}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ChurnModel:
        return cls(float(data["intercept"]), dict(data["coefficients"]), dict(data["means"]), dict(data["scales"]))


def logistic(design: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.float64]:
    """Logistic regression with a light ridge: a feature that separates perfectly in a small
    sample keeps a finite coefficient instead of running off to infinity."""
    result = sm.GLM(y, design, family=sm.families.Binomial()).fit_regularized(alpha=RIDGE, L1_wt=0.0)
    return np.asarray(result.params)


def sigmoid(log_odds: NDArray[np.float64]) -> NDArray[np.float64]:
    return 1.0 / (1.0 + np.exp(-log_odds))


# ---- evaluation -------------------------------------------------------------------------------

def auc(y: NDArray[np.float64], score: NDArray[np.float64]) -> float:
    """Area under the ROC curve: the chance a churner is scored above a stayer (ties count half)."""
    positives, negatives = score[y == 1], score[y == 0]
    if not len(positives) or not len(negatives):
        raise ValueError("AUC needs both churners and stayers")
    ranks = rankdata(np.concatenate([positives, negatives]))  # ties share their average rank
    return float((ranks[: len(positives)].sum() - len(positives) * (len(positives) + 1) / 2)
                 / (len(positives) * len(negatives)))


def brier(y: NDArray[np.float64], probability: NDArray[np.float64]) -> float:
    return float(np.mean((probability - y) ** 2))


def calibration(y: NDArray[np.float64], probability: NDArray[np.float64], bins: int = 10) -> list[dict[str, float]]:
    """Predicted against observed churn, by equal-width bands of predicted probability."""
    edges = np.linspace(0, 1, bins + 1)
    band = np.clip(np.digitize(probability, edges[1:-1]), 0, bins - 1)
    return [{"from": float(edges[k]), "to": float(edges[k + 1]), "players": int((band == k).sum()),
             "predicted": float(probability[band == k].mean()), "observed": float(y[band == k].mean())}
            for k in range(bins) if (band == k).any()]


def evaluate(y: NDArray[np.float64], probability: NDArray[np.float64]) -> dict[str, Any]:
    return {"auc": auc(y, probability), "brier": brier(y, probability), "players": int(len(y)),
            "churn_rate": float(y.mean()), "calibration": calibration(y, probability)}
