"""Print one summary of the figures the benchmark scripts wrote with `--json`.

.venv/bin/python benchmarks/summary.py OUT_DIR
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from common import TARGETS, Figure, print_table

ORDER = list(TARGETS)


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    out_dir = Path(sys.argv[1])
    figures: list[Figure] = []
    missing_scripts: list[str] = []
    sources: set[str] = set()
    errors: list[str] = []
    for path in sorted(out_dir.glob("*.json")):
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            missing_scripts.append(path.stem)
            continue
        sources.add(str(data.get("daemon", "?")))
        errors += [f"{path.stem} {error}" for error in data.get("errors", [])]
        for item in data.get("figures", []):
            if item["key"] in TARGETS:
                figures.append(Figure(item["key"], item["label"], item["value"], item["unit"]))
    figures.sort(key=lambda f: ORDER.index(f.key))
    found = {f.key for f in figures}
    for key in ORDER:
        if key not in found:
            figures.append(Figure(key, f"{key} (not measured: failed)", None, ""))
    print_table("summary: every target", figures, errors, source=" | ".join(sorted(sources)))
    missed = [f for f in figures if f.verdict == "MISSED"]
    absent = [f for f in figures if f.value is None]
    print(
        f"\n  {len(figures) - len(missed) - len(absent)} targets met, {len(missed)} missed, "
        f"{len(absent)} not measured"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
