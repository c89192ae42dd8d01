"""Convert UCI `spliceData.txt` (label, id, sequence per line) into one FASTA per class.

Provenance only: this is how splice/*.fa were made; the workflow never runs it.
Usage: python convert_uci_splice.py path/to/spliceData.txt splice/
"""

import sys
from pathlib import Path

source, out = Path(sys.argv[1]), Path(sys.argv[2])
records: dict[str, list[str]] = {}
for line in source.read_text().splitlines():
    label, record_id, sequence = (field.strip() for field in line.split(","))
    records.setdefault(label, []).append(f">{record_id}\n{sequence}\n")
for label, lines in records.items():
    (out / f"{label}.fa").write_text("".join(lines))
