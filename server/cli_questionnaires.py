"""The questionnaire commands of ``circle`` (a composition root, like ``server/cli.py``): their
parsers live here and their work in ``server.questionnaires``, imported only when a command runs,
so ``circle --help`` loads neither scipy nor pandas.

    circle instruments list | show ID [--json] | validate FILE | add FILE
    circle outcomes --series ID | --group ID | --organisation SLUG | --cohort NAME [...]
    circle import responses FILE.csv --cohort NAME [--org SLUG]
    circle researcher grant | revoke --email E (--cohort NAME | --group ID)
    circle plausibility --instrument ID --n N --mean M [--sd S] [--score NAME]
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from server.domain import ProtocolKind
from server.settings import Settings

SettingsLoader = Callable[[argparse.Namespace], Settings]


def _instruments(settings: SettingsLoader, a: argparse.Namespace) -> int:
    from server.questionnaires import cli

    if a.instruments_command == "validate":
        return cli.cmd_validate(a.file)
    if a.instruments_command == "list":
        return cli.cmd_list(settings(a))
    if a.instruments_command == "show":
        return cli.cmd_show(settings(a), a.id, a.json)
    return cli.cmd_add(settings(a), a.file)


def _research(name: str, settings: SettingsLoader, a: argparse.Namespace) -> int:
    from server.questionnaires import cli_research

    commands = {
        "outcomes": cli_research.cmd_outcomes,
        "import": cli_research.cmd_import,
        "researcher": cli_research.cmd_grant,
        "plausibility": cli_research.cmd_plausibility,
    }
    return commands[name](settings, a)


def register(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], settings: SettingsLoader
) -> None:
    ins = sub.add_parser("instruments", help="questionnaire instruments (files)")
    isub = ins.add_subparsers(dest="instruments_command", required=True, metavar="ACTION")
    isub.add_parser("list", help="the instruments in force (shipped and the organisation's)")
    p = isub.add_parser("show", help="one instrument: items, scale, scoring, bands, licence")
    p.add_argument("id")
    p.add_argument("--json", action="store_true", help="the validated file as JSON")
    p = isub.add_parser("validate", help="check an instrument file; changes nothing")
    p.add_argument("file", type=Path)
    p = isub.add_parser(
        "add", help="validate a file (e.g. licensed item text) and copy it into instruments_dir"
    )
    p.add_argument("file", type=Path)
    ins.set_defaults(func=lambda a: _instruments(settings, a))

    out = sub.add_parser(
        "outcomes", help="pre/post outcome report (json, csv, md) or the research export"
    )
    which = out.add_mutually_exclusive_group(required=True)
    which.add_argument("--series", type=int, help="series id")
    which.add_argument("--group", type=int, help="group id (all its series)")
    which.add_argument("--organisation", metavar="SLUG", help="all groups of an organisation")
    which.add_argument("--cohort", metavar="NAME", help="an imported cohort")
    out.add_argument("--org", metavar="SLUG", help="the organisation of --cohort, if ambiguous")
    out.add_argument("--protocol", choices=[p.value for p in ProtocolKind])
    out.add_argument("--profession", help="only members of this profession")
    out.add_argument("--format", choices=["json", "csv", "md"], default="json")
    out.add_argument("--points", action="store_true", help="json: each person's scores (plots)")
    out.add_argument(
        "--export", type=Path, metavar="FILE", help="write the research export (.csv or .sav)"
    )
    out.set_defaults(func=lambda a: _research("outcomes", settings, a))

    imp = sub.add_parser("import", help="import data")
    isub = imp.add_subparsers(dest="import_command", required=True, metavar="WHAT")
    r = isub.add_parser("responses", help="questionnaire responses from CSV into a cohort")
    r.add_argument("file", type=Path)
    r.add_argument("--cohort", required=True, metavar="NAME")
    r.add_argument("--org", metavar="SLUG", help="organisation (needed if there are several)")
    r.set_defaults(func=lambda a: _research("import", settings, a))

    res = sub.add_parser(
        "researcher", help="study-scoped research access (a cohort, or a group and its series)"
    )
    rsub = res.add_subparsers(dest="researcher_command", required=True, metavar="ACTION")
    for action in ("grant", "revoke"):
        g = rsub.add_parser(action, help=f"{action} read access to one study's outcomes")
        g.add_argument("--email", required=True, help="the researcher (an existing person)")
        study = g.add_mutually_exclusive_group(required=True)
        study.add_argument("--cohort", metavar="NAME")
        study.add_argument("--group", type=int, metavar="ID")
        g.add_argument("--org", metavar="SLUG", help="the organisation of --cohort, if ambiguous")
        g.set_defaults(func=lambda a: _research("researcher", settings, a))

    pl = sub.add_parser(
        "plausibility", help="GRIM/GRIMMER check of a published mean (and SD) for an instrument"
    )
    pl.add_argument("--instrument", required=True)
    pl.add_argument("--score", default="total")
    pl.add_argument("--n", type=int, required=True)
    pl.add_argument("--mean", required=True, help="as printed, e.g. 75.60")
    pl.add_argument("--sd", help="as printed, e.g. 6.63")
    pl.set_defaults(func=lambda a: _research("plausibility", settings, a))
