#!/usr/bin/env python3
"""Compare two results folders file by file: byte for byte, but for what a rerun cannot
repeat: the run's own timings (history.csv `seconds`, train.json `*_seconds`, summary.tsv
`train_seconds`), Lightning's resumable checkpoints (checkpoints/, which hold timings) and the
HTML report (timings and provenance). Exit 1 if any other file differs or is missing.

    scripts/compare-results.py results-before/ results-after/
"""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path


def comparable(path: Path) -> bytes:
    data = path.read_bytes()
    if path.name == "history.csv":
        rows = list(csv.reader(io.StringIO(data.decode())))
        drop = rows[0].index("seconds")
        return "\n".join(",".join(r[:drop] + r[drop + 1 :]) for r in rows).encode()
    if path.name == "train.json":
        info = {k: v for k, v in json.loads(data).items() if not k.endswith("_seconds_this_run")}
        info.pop("train_seconds", None)
        return json.dumps(info, sort_keys=True).encode()
    if path.name == "summary.tsv":
        rows = [line.split("\t") for line in data.decode().splitlines()]
        keep = [i for i, name in enumerate(rows[0]) if name != "train_seconds"]
        return "\n".join("\t".join(r[i] for i in keep) for r in rows).encode()
    return data


def main(before: Path, after: Path) -> int:
    files = {
        side: {p.relative_to(root) for p in root.rglob("*") if p.is_file()}
        for side, root in (("before", before), ("after", after))
    }
    other = {"before": "after", "after": "before"}
    problems = [
        f"only in {side}: {p}" for side in files for p in sorted(files[side] - files[other[side]])
    ]
    same = skipped = 0
    for rel in sorted(files["before"] & files["after"]):
        if "checkpoints" in rel.parts or rel.parts[0] == "report":
            skipped += 1
        elif comparable(before / rel) == comparable(after / rel):
            same += 1
        else:
            problems.append(f"differs: {rel}")
    print("\n".join(problems))
    print(f"{same} files identical, {len(problems)} problems, {skipped} not compared")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
