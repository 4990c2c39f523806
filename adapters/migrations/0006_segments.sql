-- Each player's segments and 12-month value as of the last scoring run of their brand.
-- `population` is what only the whole brand's figures can tell (high_value, prefers_*): the
-- player's workflow is told when it changes (`notified_at` NULL until then).
CREATE TABLE player_segments (
    brand        text        NOT NULL,
    player_id    text        NOT NULL,
    as_of        date        NOT NULL,
    segments     text[]      NOT NULL,
    population   text[]      NOT NULL,
    ltv_12m      numeric,
    changed_at   timestamptz NOT NULL DEFAULT now(),
    notified_at  timestamptz,
    PRIMARY KEY (brand, player_id)
);
CREATE INDEX player_segments_unnotified ON player_segments (brand) WHERE notified_at IS NULL;

-- Segment sizes per run, and how many joined and left since the run before.
CREATE TABLE segment_sizes (
    brand    text    NOT NULL,
    as_of    date    NOT NULL,
    segment  text    NOT NULL,
    players  integer NOT NULL,
    joined   integer NOT NULL,
    left_    integer NOT NULL,
    PRIMARY KEY (brand, as_of, segment)
);
