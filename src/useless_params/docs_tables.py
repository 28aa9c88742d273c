"""The result tables of the docs, written from the CSVs committed beside them.

Each table is one registry entry (``TABLES``): the name a page marks it with, and the
function that writes its markdown from the committed result files (``docs/results/``,
``docs/lenet300/``: copies of what a workflow run wrote). In a page a table sits between

    <!-- generated-table: NAME -->
    ...
    <!-- end generated-table -->

``python3 -m useless_params.docs_tables`` rewrites every such block in README.md,
config/README.md and docs/*.md; ``--check`` changes nothing and exits 1 naming each page
whose tables differ from what it would write (tests/test_docs.py runs it), so a rerun that
changes a number changes the page, or a test fails.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .errors import InputError
from .registry import lookup, registry

BLOCK = re.compile(r"(<!-- generated-table: (?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- end generated-table -->)", re.S)
LENET = Path("docs/lenet300")
ARTICLE_RUN = Path("docs/results/article")


def _read(root: Path, relative: Path):
    import pandas as pd

    path = root / relative
    if not path.exists():
        raise InputError(f"{relative}: no such result file (the table that quotes it cannot be written)")
    frame = pd.read_csv(path)
    if "status" in frame:  # published points the run could not be compared with
        frame = frame[frame["status"] == "ran"]
    return frame


def _acc(mean: float, std: float | None = None) -> str:
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "—"
    return f"{mean:.4f}" if std is None or math.isnan(std) else f"{mean:.4f} ({std:.4f})"


def _pct(fraction: float) -> str:
    value = 100 * fraction
    return f"{value:.3g} %" if value < 10 else f"{value:.1f} %"


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


CRITERION_NAMES = {"change_scale": "change scale (the article's)", "magnitude": "magnitude", "movement": "movement",
                   "magnitude_increase": "magnitude increase", "random": "random"}


def _variant(frame, point: str, criterion: str, variant: str):
    rows = frame[(frame["point"] == point) & (frame["criterion"] == criterion) & (frame["variant"] == variant)]
    return rows.iloc[0] if len(rows) else None


# --- The tables.

def lenet300_published_points(root: Path) -> str:
    """Magnitude on 3 seeds at each published point: ticket, controls and dense (literature.csv)."""
    import pandas as pd

    frame = pd.concat([_read(root, LENET / "lottery_ticket_3seeds_magnitude/literature.csv"),
                       _read(root, LENET / "han_3seeds_magnitude/literature.csv")], ignore_index=True)
    rows = []
    for point in dict.fromkeys(frame["point"]):
        ticket = _variant(frame, point, "magnitude", "pruned")
        controls = [_variant(frame, point, "magnitude", v) for v in ("reinit", "random_mask")]
        published = (f"{ticket['published_accuracy']:.4f}" if not math.isnan(ticket["published_accuracy"])
                     else "—")
        rows.append([f"{ticket['paper']}: {ticket['claim']}", f"{_pct(ticket['published_kept_fraction'])}, {published}",
                     f"{_pct(ticket['kept_fraction'])} (level {int(ticket['level'])})",
                     _acc(ticket["mean_accuracy"], ticket["std_accuracy"]),
                     " / ".join(_acc(c["mean_accuracy"], c["std_accuracy"]) if c is not None else "—" for c in controls),
                     _acc(ticket["dense_accuracy"]), f"{ticket['points_vs_dense']:+.2f}",
                     f"{_acc(ticket['mean_early_stop_accuracy'])} vs {_acc(ticket['dense_early_stop_accuracy'])}"])
    return _table(["published point", "paper: kept, accuracy", "ours: kept", "ticket, 3 seeds: mean (std)",
                   "reinit / random mask", "dense (as many epochs)", "points vs dense",
                   "at early stop: ticket vs dense"], rows)


def lenet300_criteria_lottery_ticket(root: Path) -> str:
    """Every criterion through the lottery-ticket protocol, seed 1 (literature.csv, operating_points.csv)."""
    frame = _read(root, LENET / "lottery_ticket_seed1_all/literature.csv")
    points = _read(root, LENET / "lottery_ticket_seed1_all/operating_points.csv")
    rows = []
    for criterion, name in CRITERION_NAMES.items():
        deep = [_variant(frame, "frankle2019_3.6", criterion, v) for v in ("pruned", "reinit", "random_mask")]
        mid = _variant(frame, "frankle2019_13.5", criterion, "pruned")
        if mid is None or deep[0] is None:
            continue
        reach = points[(points["criterion"] == criterion) & (points["variant"] == "pruned")].iloc[0]
        rows.append([name, _acc(mid["mean_accuracy"]), *(_acc(v["mean_accuracy"]) if v is not None else "—" for v in deep),
                     f"{_pct(reach['min_kept_fraction_within_0.5_points'])} / "
                     f"{_pct(reach['min_kept_fraction_within_1_points'])}"])
    kept_mid = _pct(frame[frame["point"] == "frankle2019_13.5"]["kept_fraction"].iloc[0])
    kept_deep = _pct(frame[frame["point"] == "frankle2019_3.6"]["kept_fraction"].iloc[0])
    return _table(["criterion", f"ticket at {kept_mid}", f"ticket at {kept_deep}", f"reinit at {kept_deep}",
                   f"random mask at {kept_deep}", "ticket within 0.5 / 1 point of dense down to"], rows)


def lenet300_criteria_han(root: Path) -> str:
    """Every criterion through Han et al.'s protocol, seed 1, at the level of their 12x point."""
    frame = _read(root, LENET / "han_seed1_all/literature.csv")
    points = _read(root, LENET / "han_seed1_all/operating_points.csv")
    rows = []
    for criterion, name in CRITERION_NAMES.items():
        row = _variant(frame, "han2015_12x", criterion, "pruned")
        if row is None:
            continue
        reach = points[(points["criterion"] == criterion) & (points["variant"] == "pruned")].iloc[0]
        rows.append([name, f"{_pct(row['kept_fraction'])} (level {int(row['level'])})", _acc(row["mean_accuracy"]),
                     f"{row['points_vs_dense']:+.2f}",
                     f"{_pct(reach['min_kept_fraction_within_0.5_points'])} / "
                     f"{_pct(reach['min_kept_fraction_within_1_points'])}"])
    return _table(["criterion", "kept", "accuracy", "points vs dense", "within 0.5 / 1 point of dense down to"], rows)


@dataclass(frozen=True)
class GeneratedTable:
    name: str
    write: Callable[[Path], str]
    description: str


TABLES: dict[str, GeneratedTable] = registry(
    GeneratedTable("lenet300-published-points", lenet300_published_points,
                   "LeNet-300-100 at the published points, magnitude, 3 seeds"),
    GeneratedTable("lenet300-criteria-lottery-ticket", lenet300_criteria_lottery_ticket,
                   "every criterion through the lottery-ticket protocol, seed 1"),
    GeneratedTable("lenet300-criteria-han", lenet300_criteria_han, "every criterion through Han et al.'s protocol"),
)


def pages(root: Path) -> list[Path]:
    return [root / "README.md", root / "config" / "README.md", *sorted((root / "docs").glob("*.md"))]


def rendered(text: str, root: Path) -> str:
    """``text`` with every generated block rewritten from the committed CSVs."""
    def block(match: re.Match) -> str:
        entry = lookup(TABLES, match["name"], what="generated table")
        return match.group(1) + entry.write(root) + match.group(4)

    return BLOCK.sub(block, text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[2])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a page differs")
    args = parser.parse_args(argv)
    stale = []
    try:
        for page in pages(args.root):
            text = page.read_text()
            new = rendered(text, args.root)
            if new != text:
                stale.append(page.relative_to(args.root))
                if not args.check:
                    page.write_text(new)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    verb = "differ from their CSVs" if args.check else "rewritten"
    for page in stale:
        print(f"{page}: generated tables {verb}")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
