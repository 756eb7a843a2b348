"""How long a command takes to start: whole processes, wall and CPU time, beside baselines.

    python benchmarks/startup.py --db sqlite:///PATH/demo.db --ref PR-2023-01 [--rounds 5] --json

Runs each command as a new process (``python -c "import cli; cli.main()" ...``) ``--rounds``
times, interleaved, and reports the median wall seconds and CPU seconds (the child's user +
system time, from its rusage: on a busy machine wall time swings, CPU time much less), beside
baselines measured in the same run: the bare interpreter (``python -c pass``), importing
SQLAlchemy, and importing SQLAlchemy and SQLModel (what every database command needs at
least, as the tables are declared today), the last also with the garbage collector paused
as a command pauses it while it starts. The target is 300 ms per command on this machine.

Modules run from their cached bytecode, as an installed package's do: the children write and
read it under a temporary ``PYTHONPYCACHEPREFIX`` (whatever ``PYTHONDONTWRITEBYTECODE`` says),
after one round that is not counted. ``--from-source`` compiles every module on every run
instead (what a checkout under ``PYTHONDONTWRITEBYTECODE=1`` pays). Parsed workflow
definitions are cached in a temporary folder too, written by that same first round.

Each command's ``vs_floor`` is its CPU time over the SQLAlchemy + SQLModel import's.
``--compare DIR`` times the same commands of another checkout (the code before a change)
in the same rounds, interleaved, as ``NAME (DIR)``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

BASELINES = {"python": "pass", "import sqlalchemy": "import sqlalchemy",
             "import sqlalchemy + sqlmodel": "import sqlalchemy, sqlmodel",
             # as a command imports them: with the cyclic collector paused (see Runtime)
             "import sqlalchemy + sqlmodel, gc paused":
             "import gc; gc.disable(); import sqlalchemy, sqlmodel"}


FLOOR = "import sqlalchemy + sqlmodel"


def _run(code: str, argv: list[str], env: dict[str, str],
         root: Path) -> tuple[float, float, int]:
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code, *argv], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, cwd=root,
                            env=dict(env, PYTHONPATH=str(root)))
    _, status, usage = os.wait4(proc.pid, 0)
    return (time.perf_counter() - started, usage.ru_utime + usage.ru_stime,
            os.waitstatus_to_exitcode(status))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--ref", required=True, help="a case to show")
    parser.add_argument("--now", default="2024-04-15T18:30")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--from-source", action="store_true",
                        help="no bytecode cache: compile every module on every run")
    parser.add_argument("--compare", metavar="DIR", type=Path,
                        help="another checkout whose commands run in the same rounds")
    args = parser.parse_args()
    common = ["--db", args.db, "--now", args.now]
    cli_commands = {
        "safeguard --help": ["--help"],
        "workflow list": [*common, "workflow", "list"],
        "case show": [*common, "case", "show", args.ref],
        "status": [*common, "status"],
    }
    commands: dict[str, tuple[str, list[str], Path]] = {
        name: (code, [], ROOT) for name, code in BASELINES.items()}
    for root in [ROOT, *([args.compare.resolve()] if args.compare else [])]:
        commands.update({name if root == ROOT else f"{name} ({root})":
                         ("import cli; cli.main()", argv, root)
                         for name, argv in cli_commands.items()})
    samples: dict[str, list[tuple[float, float, int]]] = {k: [] for k in commands}
    with tempfile.TemporaryDirectory(prefix="startup-") as cache:
        env = dict(os.environ, SAFEGUARD_CACHE_DIR=str(Path(cache) / "workflows"))
        if args.from_source:
            env["PYTHONDONTWRITEBYTECODE"] = "1"
        else:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = str(Path(cache) / "pyc")
        for code, argv, root in commands.values():  # the warm-up round writes the caches
            _run(code, argv, env, root)
        for _ in range(args.rounds):
            for name, (code, argv, root) in commands.items():
                samples[name].append(_run(code, argv, env, root))
    out: dict[str, Any] = {
        name: {"wall": round(statistics.median(s[0] for s in runs), 3),
               "cpu": round(statistics.median(s[1] for s in runs), 3),
               "exit": max(s[2] for s in runs)}
        for name, runs in samples.items()}
    for name, figures in out.items():
        if name not in BASELINES:
            figures["vs_floor"] = round(figures["cpu"] / out[FLOOR]["cpu"], 2)
    out["load"] = [round(x, 2) for x in os.getloadavg()]
    out["bytecode"] = "compiled on every run" if args.from_source else "cached"
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        for name, figures in out.items():
            print(f"{name:<32} {figures}")


if __name__ == "__main__":
    main()
