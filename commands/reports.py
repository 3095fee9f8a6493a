"""The report command: `report eda|model|executive [--format html|pdf] [--out PATH]` (builders in reports/)."""
from __future__ import annotations

import json

from reports import FORMATS, KINDS


def add_parsers(sub, common) -> None:
    """`report KIND`: a self-contained HTML or PDF report generated from the live database."""
    r = sub.add_parser("report", parents=[common],
                       help="write the eda, model or executive report (HTML, or PDF through headless Chromium)")
    r.add_argument("kind", choices=KINDS)
    r.add_argument("--format", dest="fmt", choices=FORMATS, default="html")
    r.add_argument("--out", default=None, help="output file (default data/reports/KIND.FORMAT)")
    r.set_defaults(func=report)


def report(args) -> int:
    from data import store
    from reports import render
    if not store.db_exists():
        raise ValueError(f"no sales data in {store.resolve_url()}: run `python cli.py demo` or "
                         "`python cli.py ingest` first")
    summary = render.generate(args.kind, args.fmt, args.out)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"{summary['report']} report ({summary['format']}, {summary['bytes'] / 1e6:.1f} MB) written to "
              f"{summary['path']} in {summary['seconds']:.1f} s: {', '.join(summary['sections'])}")
    return 0
