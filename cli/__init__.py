"""The `crm` command: run the stack, the worker, migrations; send events; read profiles."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from crm.settings import Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="crm", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    dev = commands.add_parser("dev", help="run Temporal, PostgreSQL and the worker locally, in one terminal")
    dev.add_argument("--state-dir", type=Path, help="where state is kept (default: .crm, or CRM_STATE_DIR)")

    commands.add_parser("worker", help="run only the worker against the configured services")
    commands.add_parser("migrate", help="apply database migrations (idempotent)")

    send = commands.add_parser("send", help="send events as the platform would (JSON object or JSON lines)")
    send.add_argument("file", help="a file of events, or - for standard input")

    player = commands.add_parser("player", help="print a player's unified profile from PostgreSQL")
    player.add_argument("brand")
    player.add_argument("player_id")
    player.add_argument("--json", action="store_true", help="print the profile as JSON")

    schema = commands.add_parser("schema", help="write the event contract's JSON Schema and reference page")
    schema.add_argument("--output", type=Path, default=Path("docs"), help="folder (default: docs)")

    args = parser.parse_args(argv)
    settings = Settings()
    if getattr(args, "state_dir", None):
        settings.state_dir = args.state_dir

    if args.command == "dev":
        from cli.dev import run_dev

        return asyncio.run(run_dev(settings))
    if args.command == "worker":
        import worker

        worker.main()
        return 0
    if args.command == "migrate":
        from cli.database import migrate

        return asyncio.run(migrate(settings))
    if args.command == "send":
        from cli.send import send_file

        return asyncio.run(send_file(settings, args.file))
    if args.command == "player":
        from cli.database import show_player

        return asyncio.run(show_player(settings, args.brand, args.player_id, args.json))
    if args.command == "schema":
        from cli.schema import write_schema

        for path in write_schema(args.output):
            print(f"wrote {path}")
        return 0
    parser.error(f"unknown command {args.command}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
