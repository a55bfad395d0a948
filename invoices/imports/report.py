"""What an import did: the counts and rejected rows the pages, the API and the commands report."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property

from invoices.imports.parsers import RowError
from invoices.models import ImportBatch, ImportKind, ImportRejection


@dataclass
class ImportReport:
    batch: ImportBatch

    @cached_property
    def rejected(self) -> list[RowError]:
        return [RowError(r.row, r.column, r.reason) for r in self.batch.rejections.all()]

    @cached_property
    def rejected_rows(self) -> list[dict]:
        """One entry per rejected row, with each of its reasons and the column, as the file names it."""
        return rejected_rows(self.batch, self.batch.rejections.all())

    def as_dict(self) -> dict:
        """The report as the API and `--json` give it; an order list's also names its direction, which
        its headers may have decided."""
        b = self.batch
        report = {
            "batch": b.pk,
            "file": b.original_name,
            "state": b.state,
            "state_label": str(b.get_state_display()),
            "failure_reason": b.failure_reason,
            "read": b.rows_read,
            "created": b.rows_created,
            "updated": b.rows_updated,
            "unchanged": b.rows_unchanged,
            "rejected": b.rows_rejected,
            "rejected_rows": self.rejected_rows,
        }
        if b.kind == ImportKind.ORDERS:
            report["direction"] = b.direction
        return report


def rejected_rows(batch: ImportBatch, rejections: Iterable[ImportRejection]) -> list[dict]:
    """Rejections (in row order) grouped by row: [{"row": 7, "reasons": [{"column": "发票票种",
    "reason": "…"}, …]}, …], columns named by the file's own header."""
    rows: list[dict] = []
    for rejection in rejections:
        if not rows or rows[-1]["row"] != rejection.row:
            rows.append({"row": rejection.row, "reasons": []})
        rows[-1]["reasons"].append({"column": batch.column_label(rejection.column), "reason": rejection.reason})
    return rows


def reports_print(
    reports: Sequence[ImportReport],
    write: Callable[[str], object],
    *,
    as_json: bool = False,
    rejected_label: str = "rejected rows",
) -> None:
    """Print what a command imported, through `write` (one call per line).

    As JSON: the totals, every rejected row with its file, and each file's report. As text: a line per
    file (state, the direction when the report has one, counts, why a refused file was refused), then
    a line per rejected row with its reasons."""
    files = [report.as_dict() for report in reports]
    if as_json:
        summary = {
            "created": sum(r["created"] for r in files),
            "updated": sum(r["updated"] for r in files),
            "unchanged": sum(r["unchanged"] for r in files),
            "rejected": sum(r["rejected"] for r in files),
            "rejected_rows": [row | {"file": r["file"]} for r in files for row in r["rejected_rows"]],
            "files": files,
        }
        write(json.dumps(summary, ensure_ascii=False, indent=2))
        return
    for r in files:
        parts = [
            r["state_label"],
            *([r["direction"]] if "direction" in r else []),
            f"read {r['read']}",
            f"created {r['created']}",
            f"updated {r['updated']}",
            f"unchanged {r['unchanged']}",
            f"{rejected_label} {r['rejected']}",
            *([r["failure_reason"]] if r["failure_reason"] else []),
        ]
        write(f"{r['file']}: " + " · ".join(parts))
        for row in r["rejected_rows"]:
            reasons = "; ".join(f"{reason['column']}: {reason['reason']}" for reason in row["reasons"])
            write(f"  row {row['row']}: {reasons}")
