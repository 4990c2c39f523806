-- Every churn model trained, with what it was trained on and how it did against the baselines.
-- Only a model that beat both baselines on held-out data is ever `in_use`; the newest such is used.
CREATE TABLE churn_models (
    model_id      bigserial   PRIMARY KEY,
    trained_at    timestamptz NOT NULL DEFAULT now(),
    as_of         date        NOT NULL,          -- trained on data before this date
    horizon_days  integer     NOT NULL,          -- churned = no real-money play or deposit in this many days
    train_dates   date[]      NOT NULL,          -- the snapshots it was fitted on
    eval_date     date        NOT NULL,          -- the later snapshot it was judged on
    features      text[]      NOT NULL,
    model         jsonb       NOT NULL,          -- intercept, coefficients, standardisation
    metrics       jsonb       NOT NULL,          -- model and baselines: AUC, Brier, calibration
    in_use        boolean     NOT NULL,
    verdict       text        NOT NULL
);

CREATE TABLE churn_scores (
    brand        text        NOT NULL,
    player_id    text        NOT NULL,
    as_of        date        NOT NULL,
    model_id     bigint      NOT NULL REFERENCES churn_models (model_id),
    score        numeric     NOT NULL,
    top_signals  text[]      NOT NULL,
    scored_at    timestamptz NOT NULL DEFAULT now(),
    signalled_at timestamptz,                    -- when this score's upward crossing was sent to the player
    PRIMARY KEY (brand, player_id, as_of)
);
CREATE INDEX churn_scores_as_of ON churn_scores (brand, as_of, score);
