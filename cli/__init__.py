"""The `crm` command: run the stack, the worker, migrations; send events; read profiles; the churn model."""

from __future__ import annotations

import argparse
import asyncio
import atexit
import os
import sys
from datetime import UTC, date, datetime
from pathlib import Path

from crm.settings import Settings


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-11-30") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="crm", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    dev = commands.add_parser("dev", help="run Temporal, PostgreSQL and the worker locally, in one terminal")
    dev.add_argument("--state-dir", type=Path, help="where state is kept (default: .crm, or CRM_STATE_DIR)")
    dev.add_argument("--demo", action="store_true", help="also run a small live casino on brand demo, with "
                     "journeys at demo speed")

    commands.add_parser("worker", help="run only the worker against the configured services")
    commands.add_parser("migrate", help="apply database migrations (idempotent)")

    platform = commands.add_parser("platform", help="run the reference platform (HTTP API and SMTP sink)")
    platform.add_argument("--host", default="127.0.0.1")
    platform.add_argument("--port", type=int, default=8090)
    platform.add_argument("--smtp-port", type=int, default=8025)
    platform.add_argument("--error-rate", type=float, default=0.0, help="share of calls answered 503 (0 to 1)")
    platform.add_argument("--timeout-rate", type=float, default=0.0, help="share of calls that hang (0 to 1)")
    platform.add_argument("--latency-ms", type=int, default=0, help="added to every call")

    send = commands.add_parser("send", help="send events as the platform would (JSON object or JSON lines)")
    send.add_argument("file", help="a file of events, or - for standard input")

    history = commands.add_parser("import", help="load historical events into PostgreSQL with COPY (not through "
                                  "Temporal); idempotent, resumable")
    history.add_argument("file", type=Path, help="JSON lines, or CSV with the event contract's columns (.csv)")
    history.add_argument("--rejections", type=Path, help="where refused lines go (default: FILE.rejections.jsonl)")
    history.add_argument("--batch", type=int, default=20_000, help="lines per transaction (default 20000)")

    simulate = commands.add_parser("simulate", help="write a synthetic population's events (for crm import) and "
                                   "its ground truth")
    simulate.add_argument("--players", type=int, default=10_000)
    simulate.add_argument("--days", type=int, default=365, help="days of history (default 365)")
    simulate.add_argument("--start", type=_date, default=date(2025, 12, 1), help="first day (default 2025-12-01)")
    simulate.add_argument("--seed", type=int, default=1, help="same seed, same population")
    simulate.add_argument("--brand", default="acme")
    simulate.add_argument("--out", type=Path, default=Path("simulated.jsonl"), help="events, JSON lines")
    simulate.add_argument("--truth", type=Path, help="ground truth CSV (default: beside --out, .truth.csv)")
    simulate.add_argument("--live", action="store_true", help="send the events now, by signal-with-start, "
                          "instead of writing a file")
    simulate.add_argument("--day-seconds", type=float, default=60, help="--live: one simulated day lasts this many "
                          "seconds (default 60)")
    simulate.add_argument("--rate", type=float, default=50, help="--live: at most this many events a second")

    player = commands.add_parser("player", help="print a player's unified profile from PostgreSQL")
    player.add_argument("brand")
    player.add_argument("player_id")
    player.add_argument("--json", action="store_true", help="print the profile as JSON")

    rules = commands.add_parser("rules", help="check, test and try rule files")
    rule_commands = rules.add_subparsers(dest="rules_command", required=True, metavar="RULES_COMMAND")
    for name, text in (("check", "validate every rule file; errors name file, line, rule and field"),
                       ("test", "run the golden cases kept beside the rules")):
        sub = rule_commands.add_parser(name, help=text)
        sub.add_argument("path", nargs="?", type=Path, help="rules folder (default: CRM_RULES_DIR or the shipped rules)")
    evaluate = rule_commands.add_parser("eval", help="decide for the facts in a JSON file and print the decision")
    evaluate.add_argument("facts", help="JSON object of facts (see docs/facts.md), or - for standard input")
    evaluate.add_argument("--brand", required=True)
    evaluate.add_argument("--trigger", required=True)
    evaluate.add_argument("--status", help="JSON object of what the guards know (self_excluded, messages_today, ...)")
    evaluate.add_argument("--rules", type=Path, dest="path", help="rules folder")

    decisions = commands.add_parser("decisions", help="list the decisions made for a player, newest first")
    decisions.add_argument("brand")
    decisions.add_argument("player_id")
    decisions.add_argument("--limit", type=int, default=20)
    decisions.add_argument("--json", action="store_true", help="print the full records as JSON")

    churn = commands.add_parser("churn", help="train, score with and explain the churn model")
    churn_commands = churn.add_subparsers(dest="churn_command", required=True)
    train = churn_commands.add_parser("train", help="fit on history before --as-of, judge on a later window")
    train.add_argument("--as-of", type=_date, default=None, help="use data before this day (default: today)")
    train.add_argument("--horizon", type=int, default=30, help="churned = no real-money play or deposit in this "
                       "many days (default 30)")
    score = churn_commands.add_parser("score", help="score every active player with the model in use")
    score.add_argument("--as-of", type=_date, default=None, help="as of this day (default: today)")
    score.add_argument("--brand", help="one brand only")
    score.add_argument("--out", type=Path, help="write brand,player_id,score,top_signals to this CSV file")
    why = churn_commands.add_parser("explain", help="a player's churn risk and the signals behind it")
    why.add_argument("brand")
    why.add_argument("player_id")
    why.add_argument("--as-of", type=_date, default=None, help="as of this day (default: today)")

    segments = commands.add_parser("segments", help="segment sizes from the latest scoring run, and movement")
    segments.add_argument("--brand", help="one brand only")
    segments.add_argument("--json", action="store_true", help="print the rows as JSON")

    journeys = commands.add_parser("journeys", help="conversion per journey, treatment against holdout")
    journeys.add_argument("--brand", help="one brand only")
    journeys.add_argument("--json", action="store_true", help="print the rows as JSON")

    schema = commands.add_parser("schema", help="write the event contract's JSON Schema and reference page")
    schema.add_argument("--output", type=Path, default=Path("docs"), help="folder (default: docs)")

    args = parser.parse_args(argv)
    settings = Settings()
    if getattr(args, "state_dir", None):
        settings.state_dir = args.state_dir

    if args.command == "dev":
        from cli.dev import run_dev

        return asyncio.run(run_dev(settings, args.demo))
    if args.command == "worker":
        import worker

        worker.main()
        return 0
    if args.command == "platform":
        from adapters.reference_platform.faults import Faults
        from cli.platform import serve_platform

        try:
            faults = Faults(error_rate=args.error_rate, timeout_rate=args.timeout_rate, latency_ms=args.latency_ms)
        except ValueError as wrong:
            parser.error(str(wrong))
        return asyncio.run(serve_platform(args.host, args.port, args.smtp_port, faults))
    if args.command == "migrate":
        from cli.database import migrate

        return asyncio.run(migrate(settings))
    if args.command == "send":
        from cli.send import send_file

        return asyncio.run(send_file(settings, args.file))
    if args.command == "import":
        from cli.history import import_history

        return asyncio.run(import_history(settings, args.file, args.rejections, args.batch))
    if args.command == "simulate":
        from cli.simulate import write_population

        if args.live:
            from cli.simulate import play_live

            truth = args.truth or args.out.with_name(args.out.stem + ".truth.csv")
            return asyncio.run(play_live(settings, args.players, args.start, args.days, args.seed, args.brand, truth,
                                         args.day_seconds, args.rate))
        return write_population(args.players, args.start, args.days, args.seed, args.brand, args.out, args.truth)
    if args.command == "player":
        from cli.database import show_player

        return asyncio.run(show_player(settings, args.brand, args.player_id, args.json))
    if args.command == "rules":
        from cli import rules as rule_commands_impl

        root = args.path or settings.rules_path
        if args.rules_command == "check":
            return rule_commands_impl.check(root)
        if args.rules_command == "test":
            return rule_commands_impl.test(root)
        return rule_commands_impl.evaluate(root, args.brand, args.trigger, args.facts, args.status)
    if args.command == "decisions":
        from cli.database import show_decisions

        return asyncio.run(show_decisions(settings, args.brand, args.player_id, args.limit, args.json))
    if args.command == "churn":
        from cli import churn as churn_impl

        as_of = args.as_of or datetime.now(UTC).date()
        if args.churn_command == "train":
            return asyncio.run(churn_impl.train(settings, as_of, args.horizon))
        if args.churn_command == "score":
            return asyncio.run(churn_impl.score(settings, as_of, args.brand, args.out))
        return asyncio.run(churn_impl.explain(settings, args.brand, args.player_id, as_of))
    if args.command == "segments":
        from cli.database import show_segments

        return asyncio.run(show_segments(settings, args.brand, args.json))
    if args.command == "journeys":
        from cli.database import show_journeys

        return asyncio.run(show_journeys(settings, args.brand, args.json))
    if args.command == "schema":
        from cli.schema import write_schema

        for path in write_schema(args.output):
            print(f"wrote {path}")
        return 0
    parser.error(f"unknown command {args.command}")
    return 2


def run() -> None:
    """The `crm` console script: main(), then an exit that skips interpreter teardown.

    The Temporal SDK's core threads can touch Python while the interpreter finalises, which
    aborts the process (temporalio/sdk-python#300) and turns a good exit code into SIGABRT.
    Exit handlers (which stop the embedded PostgreSQL) still run; only the teardown is skipped.
    """
    exit_skipping_teardown(main())


def exit_skipping_teardown(code: int) -> None:
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    run()
