-- Every journey run: its control-group assignment from the start, its outcome at the end.
CREATE TABLE journeys (
    journey_id   text        PRIMARY KEY,  -- journey:{kind}:{brand}:{player_id}:{n}
    brand        text        NOT NULL,
    player_id    text        NOT NULL,
    kind         text        NOT NULL,
    control_group text       NOT NULL,     -- treatment | holdout
    started_at   timestamptz NOT NULL,
    ended_at     timestamptz,
    outcome      text,                     -- converted | expired | cancelled
    reason       text,
    details      jsonb       NOT NULL DEFAULT '{}'
);
CREATE INDEX journeys_player ON journeys (brand, player_id, started_at);
CREATE INDEX journeys_kind ON journeys (brand, kind, control_group, outcome);
