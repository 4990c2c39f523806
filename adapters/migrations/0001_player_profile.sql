-- The unified player profile, the append-only event log and daily aggregates.
-- Amounts are numeric (never float), times are timestamptz in UTC.

CREATE TABLE players (
    brand                text        NOT NULL,
    player_id            text        NOT NULL,
    revision             bigint      NOT NULL,
    stage                text        NOT NULL,
    registered_at        timestamptz,
    country              text,
    currency             text,
    birth_date           date,
    timezone             text        NOT NULL DEFAULT 'UTC',
    acquisition_channel  text,
    kyc_status           text,
    consents             jsonb       NOT NULL DEFAULT '{}',
    self_excluded        boolean     NOT NULL DEFAULT false,
    self_excluded_at     timestamptz,
    self_excluded_until  timestamptz,
    self_exclusion_scope text,
    rg_severity          text,
    account_closed       boolean     NOT NULL DEFAULT false,
    deposit_count        integer     NOT NULL DEFAULT 0,
    deposit_total        numeric     NOT NULL DEFAULT 0,
    first_deposit_at     timestamptz,
    last_deposit_at      timestamptz,
    failed_deposit_count integer     NOT NULL DEFAULT 0,
    failed_deposit_total numeric     NOT NULL DEFAULT 0,
    withdrawal_count     integer     NOT NULL DEFAULT 0,
    withdrawal_total     numeric     NOT NULL DEFAULT 0,
    session_count        integer     NOT NULL DEFAULT 0,
    session_seconds      bigint      NOT NULL DEFAULT 0,
    rounds_total         bigint      NOT NULL DEFAULT 0,
    stake_total          numeric     NOT NULL DEFAULT 0,
    win_total            numeric     NOT NULL DEFAULT 0,
    bonus_stake_total    numeric     NOT NULL DEFAULT 0,
    net_loss             numeric     NOT NULL DEFAULT 0,
    bonus_claimed_count  integer     NOT NULL DEFAULT 0,
    bonus_completed_count integer    NOT NULL DEFAULT 0,
    bonus_forfeited_count integer    NOT NULL DEFAULT 0,
    last_active_at       timestamptz,
    events_accepted      bigint      NOT NULL DEFAULT 0,
    events_rejected      bigint      NOT NULL DEFAULT 0,
    profile              jsonb       NOT NULL,  -- the whole profile, exactly as the workflow's query shows it
    updated_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (brand, player_id)
);
CREATE INDEX players_stage ON players (brand, stage);
CREATE INDEX players_last_active ON players (brand, last_active_at);

-- Append-only. The primary key makes a re-sent event a no-op.
CREATE TABLE events (
    brand       text        NOT NULL,
    event_id    text        NOT NULL,
    player_id   text        NOT NULL,
    type        text        NOT NULL,
    occurred_at timestamptz NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    payload     jsonb       NOT NULL,
    PRIMARY KEY (brand, event_id)
);
CREATE INDEX events_player ON events (brand, player_id, occurred_at);

CREATE TABLE rejected_events (
    rejection_key text        PRIMARY KEY,
    brand         text        NOT NULL,
    player_id     text        NOT NULL,
    received_at   timestamptz NOT NULL,
    reason        text        NOT NULL,
    payload       text        NOT NULL
);
CREATE INDEX rejected_events_player ON rejected_events (brand, player_id, received_at);

-- One row per player and UTC day with any activity.
CREATE TABLE player_days (
    brand                text    NOT NULL,
    player_id            text    NOT NULL,
    day                  date    NOT NULL,
    logins               integer NOT NULL DEFAULT 0,
    sessions             integer NOT NULL DEFAULT 0,
    session_seconds      bigint  NOT NULL DEFAULT 0,
    rounds               bigint  NOT NULL DEFAULT 0,
    stake                numeric NOT NULL DEFAULT 0,
    win                  numeric NOT NULL DEFAULT 0,
    bonus_stake          numeric NOT NULL DEFAULT 0,
    deposits             integer NOT NULL DEFAULT 0,
    deposit_amount       numeric NOT NULL DEFAULT 0,
    failed_deposits      integer NOT NULL DEFAULT 0,
    failed_deposit_amount numeric NOT NULL DEFAULT 0,
    withdrawals          integer NOT NULL DEFAULT 0,
    withdrawal_amount    numeric NOT NULL DEFAULT 0,
    PRIMARY KEY (brand, player_id, day)
);
CREATE INDEX player_days_day ON player_days (brand, day);

-- The same day split by game category, for game-preference segments and churn signals.
CREATE TABLE player_day_games (
    brand           text    NOT NULL,
    player_id       text    NOT NULL,
    day             date    NOT NULL,
    game_category   text    NOT NULL,
    sessions        integer NOT NULL DEFAULT 0,
    session_seconds bigint  NOT NULL DEFAULT 0,
    rounds          bigint  NOT NULL DEFAULT 0,
    stake           numeric NOT NULL DEFAULT 0,
    win             numeric NOT NULL DEFAULT 0,
    bonus_stake     numeric NOT NULL DEFAULT 0,
    PRIMARY KEY (brand, player_id, day, game_category)
);

-- Ready for the journeys: every side effect is keyed by workflow id and step.
CREATE TABLE incentives (
    idempotency_key text        PRIMARY KEY,
    brand           text        NOT NULL,
    player_id       text        NOT NULL,
    journey         text        NOT NULL,
    kind            text        NOT NULL,
    amount          numeric,
    currency        text,
    wagering        numeric,
    expires_at      timestamptz,
    status          text        NOT NULL,
    platform_ref    text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    details         jsonb       NOT NULL DEFAULT '{}'
);
CREATE INDEX incentives_player ON incentives (brand, player_id, created_at);

CREATE TABLE communications (
    idempotency_key text        PRIMARY KEY,
    brand           text        NOT NULL,
    player_id       text        NOT NULL,
    journey         text        NOT NULL,
    channel         text        NOT NULL,
    template_id     text        NOT NULL,
    status          text        NOT NULL,
    platform_ref    text,
    sent_at         timestamptz NOT NULL DEFAULT now(),
    details         jsonb       NOT NULL DEFAULT '{}'
);
CREATE INDEX communications_player ON communications (brand, player_id, sent_at);

-- Why a player got (or did not get) something: every decision, with the rules that matched,
-- each guard's ruling, the facts seen, the rules version and the policy pack.
CREATE TABLE decisions (
    decision_key  text        PRIMARY KEY,
    brand         text        NOT NULL,
    player_id     text        NOT NULL,
    trigger       text        NOT NULL,
    rules_version text        NOT NULL,
    policy        text        NOT NULL,
    matched       text[]      NOT NULL DEFAULT '{}',
    applied       text[]      NOT NULL DEFAULT '{}',
    actions       jsonb       NOT NULL DEFAULT '[]',
    outcomes      jsonb       NOT NULL DEFAULT '[]',
    facts         jsonb       NOT NULL DEFAULT '{}',
    status        jsonb       NOT NULL DEFAULT '{}',
    decided_at    timestamptz NOT NULL
);
CREATE INDEX decisions_player ON decisions (brand, player_id, decided_at);
