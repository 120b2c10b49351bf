"""The ``circle`` command: serve, db upgrade/current, user add, demo, bots, doctor."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

from server.errors import CircleError
from server.logs import quiet_parameter_loggers, use_json
from server.settings import ConfigError, Settings, ensure_secret, load_settings

EXIT_USAGE = 2


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {}
    if getattr(args, "host", None):
        overrides["host"] = args.host
    if getattr(args, "port", None):
        overrides["port"] = args.port
    settings = load_settings(config_file=args.config, overrides=overrides)
    if (
        "public_url" not in overrides
        and settings.public_url == "http://127.0.0.1:8080"
        and (settings.port != 8080 or settings.host not in ("127.0.0.1", "0.0.0.0"))
    ):
        host = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host
        settings = settings.model_copy(update={"public_url": f"http://{host}:{settings.port}"})
    return ensure_secret(settings)


def cmd_serve(args: argparse.Namespace) -> int:
    from aiohttp import web

    from server.app import create_app
    from server.db import migrate
    from server.db.engine import Database

    settings = _settings(args)

    async def check() -> bool:
        db = Database(settings.effective_database_url)
        try:
            return await migrate.is_current(db)
        finally:
            await db.dispose()

    if not asyncio.run(check()):
        print("error: the database is not migrated; run: circle db upgrade", file=sys.stderr)
        return EXIT_USAGE
    logging.getLogger().setLevel(settings.log_level)
    quiet_parameter_loggers()  # SQL parameters (names, addresses) never reach the log
    if settings.log_format == "json":  # one JSON object a line (server/logs.py)
        use_json(settings.node_id or f"{socket.gethostname()[:150]}:{settings.port}")
    if settings.log_level == "DEBUG":
        for noisy in NOISY_LOGGERS:
            logging.getLogger(noisy).setLevel(logging.DEBUG)
    app = create_app(settings)
    if args.demo_bots:
        from server.bots.demo import attach_demo_bots
        from server.cli_ops import latest_demo_session

        attach_demo_bots(app, settings, args.demo_bots, lambda: latest_demo_session(settings))
    from server.signaling import SIGNALING_KEY
    from server.signaling.drain import install_sigterm

    install_sigterm(app, SIGNALING_KEY)  # SIGTERM drains (docs/deployment.md)
    print(f"Healers' Circle serving on {settings.public_url} (Ctrl-C to stop)", flush=True)
    web.run_app(
        app,
        shutdown_timeout=5,  # the websockets are closed by then; other requests are short
        host=settings.host,
        port=settings.port,
        print=None,
        access_log=None if settings.log_level != "DEBUG" else logging.getLogger("aiohttp.access"),
        access_log_format='%t "%r" %s %b %Tfs',  # no client address (docs/privacy.md)
    )
    # Everything is closed and saved by now (the app's cleanup ran). Skip the interpreter's
    # final garbage collection of every loaded module: seconds on a busy host, and a drained
    # node should be gone within drain_s (docs/deployment.md).
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from server.db import migrate
    from server.db.engine import Database

    settings = _settings(args)

    async def run() -> str | None:
        db = Database(settings.effective_database_url)
        try:
            await migrate.upgrade(db, args.revision)
            return await migrate.current_revision(db)
        finally:
            await db.dispose()

    print(f"database at revision {asyncio.run(run())}")
    return 0


def cmd_db_current(args: argparse.Namespace) -> int:
    from server.db import migrate
    from server.db.engine import Database

    settings = _settings(args)

    async def run() -> tuple[str | None, str | None]:
        db = Database(settings.effective_database_url)
        try:
            return await migrate.current_revision(db), migrate.head_revision()
        finally:
            await db.dispose()

    current, head = asyncio.run(run())
    print(f"current: {current}  head: {head}")
    return 0 if current == head else 1


def cmd_user_add(args: argparse.Namespace) -> int:
    from server.cli_ops import add_user

    settings = _settings(args)
    password = None
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    elif args.password:
        password = getpass.getpass("Password: ")
    result = asyncio.run(add_user(settings, args, password))
    print(result)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from server.cli_ops import create_demo

    settings = _settings(args)
    print(asyncio.run(create_demo(settings, start_in_minutes=args.start_in)))
    return 0


def cmd_bots(args: argparse.Namespace) -> int:
    from server.cli_ops import run_bots

    settings = _settings(args)
    return asyncio.run(run_bots(settings, args.session, args.count, args.seconds, args.url))


def cmd_attendance(args: argparse.Namespace) -> int:
    from server.attendance.cli import run
    from server.errors import NotFound

    settings = _settings(args)
    try:
        print(asyncio.run(run(settings, args)))
    except NotFound as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from server.doctor import examine

    settings = _settings(args)
    report = asyncio.run(examine(settings))
    if args.json:
        print(report.as_json())
    else:
        print(report.as_text(), file=sys.stdout if report.migrated else sys.stderr)
    return report.exit_code


def cmd_privacy(args: argparse.Namespace) -> int:
    from server.privacy.commands import run

    return run(args, _settings(args))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="circle",
        description="Healers' Circle: live, protocol-guided peer-support groups for "
        "healthcare workers.",
    )
    p.add_argument("--config", type=Path, help="TOML configuration file (or $CIRCLE_CONFIG)")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("serve", help="run the server")
    s.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    s.add_argument("--port", type=int, help="port to listen on (default 8080)")
    s.add_argument(
        "--demo-bots",
        type=int,
        default=0,
        metavar="N",
        help="also join N synthetic members to the newest demo session (after `circle demo`)",
    )
    s.set_defaults(func=cmd_serve)

    db = sub.add_parser("db", help="database migrations")
    dbsub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    up = dbsub.add_parser("upgrade", help="migrate the database to the newest schema")
    up.add_argument("--revision", default="head", help="target revision (default head)")
    up.set_defaults(func=cmd_db_upgrade)
    cur = dbsub.add_parser("current", help="show the current and newest revision")
    cur.set_defaults(func=cmd_db_current)

    user = sub.add_parser("user", help="manage people")
    usub = user.add_subparsers(dest="user_command", required=True, metavar="ACTION")
    add = usub.add_parser("add", help="add a person (and their organisation if new)")
    add.add_argument("--email", required=True)
    add.add_argument("--name", required=True, help="display name")
    add.add_argument("--org", required=True, help="organisation slug (a-z, 0-9, -)")
    add.add_argument("--org-name", help="create the organisation with this name if missing")
    add.add_argument(
        "--role",
        action="append",
        choices=["admin", "coordinator", "researcher"],
        default=[],
        help="organisation role (repeatable)",
    )
    add.add_argument("--timezone", default="UTC", help="IANA timezone, e.g. Europe/Amsterdam")
    add.add_argument("--locale", choices=["en", "fa", "nl"])
    add.add_argument("--profession")
    add.add_argument("--department")
    pw = add.add_mutually_exclusive_group()
    pw.add_argument("--password", action="store_true", help="prompt for a password")
    pw.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    add.set_defaults(func=cmd_user_add)

    demo = sub.add_parser(
        "demo", help="create a demo organisation and Balint group; print one-click links"
    )
    demo.add_argument(
        "--start-in",
        type=int,
        default=5,
        metavar="MIN",
        help="minutes until the demo session starts (default 5; its lobby is open at once)",
    )
    demo.set_defaults(func=cmd_demo)

    bots = sub.add_parser("bots", help="join synthetic participants to a session (demo, load)")
    bots.add_argument("--session", type=int, required=True, help="session id")
    bots.add_argument("--count", type=int, default=4, help="number of bots (1-12)")
    bots.add_argument("--seconds", type=int, default=0, help="stay this long (0: until Ctrl-C)")
    bots.add_argument("--url", help="server URL (default: public_url)")
    bots.set_defaults(func=cmd_bots)

    doctor = sub.add_parser(
        "doctor",
        help="report stored state that needs attention (exit 0: none, 1: some, 2: not migrated)",
    )
    doctor.add_argument("--json", action="store_true", help="print the report as JSON")
    doctor.set_defaults(func=cmd_doctor)

    priv = sub.add_parser("privacy", help="a person's data: export, erasure; the retention sweep")
    psub = priv.add_subparsers(dest="privacy_command", required=True, metavar="ACTION")
    ex = psub.add_parser("export", help="print everything held about a person (JSON)")
    ex.add_argument("person", type=int, help="person id")
    er = psub.add_parser(
        "erase", help="erase a person's data; prints what was deleted, pseudonymised and kept"
    )
    er.add_argument("person", type=int, help="person id")
    psub.add_parser("sweep", help="run the retention sweep once; prints rows changed per rule")
    priv.set_defaults(func=cmd_privacy)

    from server.attendance.cli import add_parser as attendance_parser

    attendance_parser(sub).set_defaults(func=cmd_attendance)

    from server import cli_questionnaires

    cli_questionnaires.register(sub, _settings)
    from server import cli_cluster

    cli_cluster.register(sub, _settings)
    return p


NOISY_LOGGERS = ("alembic", "apscheduler", "aioice", "aiortc")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # Libraries' per-packet and per-sweep chatter (ICE checks, the 1 s scheduler sweep) stays
    # out of the console unless log_level is DEBUG (see cmd_serve).
    for noisy in NOISY_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        rc: int = args.func(args)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except CircleError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    return rc


if __name__ == "__main__":
    sys.exit(main())
