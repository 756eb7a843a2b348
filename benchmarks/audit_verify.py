"""What verifying the audit chain costs per record, beside only reading the same rows.

    python benchmarks/audit_verify.py --db sqlite:///PATH/demo.db [--rounds 3] --json

In this one process, ``--rounds`` times in turn: the baseline reads every audit record's
columns in sequence order as the driver gives them, a batch at a time, and does nothing with
them (SQLite's DB-API cursor, as verification reads them; elsewhere ``exec_driver_sql``
streaming), then ``audit verify``'s walk runs on the same database
(``verify_chain`` over ``chain_links``, as ``AuditTrail.verify`` runs it, without recording
the verification). Reports the records, the median CPU seconds (user + system of this
process) and wall seconds of each, the microseconds of CPU per record, verification's CPU
as a ratio to the baseline's, and the peak RSS. Reads only; exits 0.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

READ = ("SELECT seq, at, actor, action, outcome, case_ref, workflow, command, detail, "
        "prev_hash, hash, key_id FROM audit_record ORDER BY seq")


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _timed(run: Callable[[], int]) -> tuple[float, float, int]:
    cpu, wall = _cpu(), time.perf_counter()
    records = run()
    return _cpu() - cpu, time.perf_counter() - wall, records


def measure(url: str, head_file: Path | None, rounds: int) -> dict[str, Any]:
    from engine.core.audit import keyring, verify_chain
    from engine.core.gate import read_head_file
    from engine.core.store.access_store import AccessStore
    from engine.core.store.audit_chain import chain_links
    from engine.core.store.database import Database

    db = Database(url)
    file_head = read_head_file(head_file)
    keys = keyring(os.environ.get("SAFEGUARD_AUDIT_KEY", "").encode() or None)

    def read() -> int:
        count = 0
        with db.begin_read() as conn:
            driver = conn.connection.driver_connection
            if conn.dialect.name == "sqlite" and driver is not None:  # as verification reads
                cursor = driver.execute(READ)
                while rows := cursor.fetchmany(1_000):
                    count += len(rows)
                cursor.close()
                return count
            result = conn.execution_options(stream_results=True).exec_driver_sql(READ)
            while rows := result.fetchmany(1_000):
                count += len(rows)
        return count

    def verify() -> int:
        with db.begin_read() as conn:
            head = AccessStore(conn).head()
            with closing(chain_links(conn)) as links:
                verdict = verify_chain(links, head, file_head, keys=keys)
        if not verdict.ok:
            raise SystemExit(f"audit trail broken: {verdict.message}")
        return verdict.records

    samples: dict[str, list[tuple[float, float, int]]] = {"read": [], "verify": []}
    for _ in range(rounds):  # in turn, so both see the same machine
        samples["read"].append(_timed(read))
        samples["verify"].append(_timed(verify))
    db.dispose()
    out: dict[str, Any] = {"records": samples["verify"][0][2]}
    for name, runs in samples.items():
        cpu = statistics.median(s[0] for s in runs)
        out[name] = {"cpu": round(cpu, 3), "wall": round(statistics.median(s[1] for s in runs), 3),
                     "us_per_record": round(cpu / max(out["records"], 1) * 1e6, 2)}
    out["ratio"] = round(out["verify"]["cpu"] / max(out["read"]["cpu"], 1e-9), 2)
    out["peak_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    out["load"] = [round(x, 2) for x in os.getloadavg()]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="the database URL")
    parser.add_argument("--head-file", help="the audit head file (default: where the "
                                            "application keeps it for --db)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    from engine.core.settings import default_head_file

    head_file = Path(args.head_file) if args.head_file else default_head_file(args.db)
    result = measure(args.db, head_file, args.rounds)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for key, value in result.items():
            print(f"{key}: {value}")


if __name__ == "__main__":
    main()
