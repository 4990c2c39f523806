"""An embedded PostgreSQL for development: used whenever no CRM_DATABASE_URL is given."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path


def embedded_database_url(state_dir: Path) -> str:
    """Start (or join) the PostgreSQL kept under ``state_dir/postgres`` and return its URL.

    The server stops when the last process using it exits, and its data stays for next time.
    """
    warnings.filterwarnings("ignore", module="platformdirs")
    logging.getLogger("pgserver").setLevel(logging.WARNING)  # it logs every pg_ctl call at INFO
    import pgserver  # imported here: only development set-ups pay for it

    state_dir.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(state_dir.resolve() / "postgres", cleanup_mode="stop")
    return server.get_uri()
