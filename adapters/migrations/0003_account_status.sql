-- `stage` named two things: the account's status with the operator (this column) and the
-- player's engagement stage staff filter on (CrmStage). The column takes the clearer name.
ALTER TABLE players RENAME COLUMN stage TO account_status;
ALTER INDEX players_stage RENAME TO players_account_status;
