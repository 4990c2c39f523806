-- `crm import` resumes a file after the last line it committed (the file is known by path,
-- size and modification time: a changed file starts over, and re-importing adds nothing).
CREATE TABLE import_progress (
    source     text        PRIMARY KEY,
    last_line  bigint      NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
