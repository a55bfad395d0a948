"""A plain CSV file read in one connection while its invoices are written in another.

Reading and checking a million-row backup (the COPY lane) costs about as much as writing its rows
into `invoices_invoice` and its indexes, and each is one process's work: one after the other they
took eight times a bare COPY of the file. Here the lane stages the file block by block in a second
connection, on a thread of this process, while the import's own transaction adds each staged block
as new invoices as soon as it is ready; with two cores the two overlap.

Adding a block is the merge's own path for a first import of a period (`Staging.add_new`). Should a
block hold a key the company already has (a re-import, a file overlapping an earlier one) or a key
twice, what was added is rolled back to a savepoint and, once the whole file is staged, the general
merge runs; should the lane decline the file part-way, the Python parser stages it from the start
and the whole merge runs after it: exactly what happens without the pipeline. Either way everything
lands in the caller's one transaction, or nothing does.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import BinaryIO

from django.db import connection, transaction
from django.utils import translation

from invoices.imports.copy_lane import CopyLane, CsvLayout
from invoices.imports.staging import MergeResult, NewRows, Staging

logger = logging.getLogger(__name__)


class _Stopped(Exception):
    """The writer has failed; the reader stops at its next block."""


class _Reader(threading.Thread):
    """Stages the file through the lane in its own connection, reporting each block on `events`:
    ("block", its first and last row numbers), ("restart", None) when the lane declined and Python
    reads the file from its start, then ("done", rows read) or ("failed", the exception)."""

    def __init__(self, stage: Staging, stream: BinaryIO, layout: CsvLayout):
        super().__init__(name=f"import-{stage.batch.pk}-reader", daemon=True)
        self.stage, self.stream, self.layout = stage, stream, layout
        self.events: queue.SimpleQueue = queue.SimpleQueue()
        self.stop = threading.Event()
        self.finished_at: float | None = None
        self.language = translation.get_language()  # the rejected rows' reasons are in the reader's

    def run(self) -> None:
        try:
            translation.activate(self.language)
            with connection.cursor() as cursor:
                # A block's raw cells outgrow the default 8 MB of this (new) session's buffers for
                # temporary tables, and then go to disk and back between the lane's statements.
                cursor.execute("SET temp_buffers = '64MB'")
            self.stage.create()
            rows_read = CopyLane(self.stage, self.layout).load(self.stream, self.stage.copy_progress, self._staged)
            if rows_read is None:
                self.events.put(("restart", None))
                rows_read = self.stage.load_python(self.stream)
            self.finished_at = time.perf_counter()
            self.events.put(("done", rows_read))
        except BaseException as error:
            self.events.put(("failed", error))
        finally:
            connection.close()  # this thread's own connection

    def _staged(self, first_row: int, last_row: int) -> None:
        if self.stop.is_set():
            raise _Stopped
        self.events.put(("block", (first_row, last_row)))


def import_pipelined(stage: Staging, stream: BinaryIO, layout: CsvLayout) -> tuple[int, MergeResult, float]:
    """Stage and merge the file; the rows read, what the merge did and when the reading ended
    (`time.perf_counter()`). Runs inside the caller's transaction, which does every write but the
    staging."""
    if not connection.in_atomic_block:
        raise RuntimeError("import_pipelined writes inside the caller's transaction")
    reader = _Reader(stage, stream, layout)
    before = transaction.savepoint()
    added: NewRows | None = NewRows()  # None once adding failed: then the general merge runs
    restarted = False
    reader.start()
    waited = 0.0  # for the log: how long the writer had nothing to write
    try:
        while True:
            asked = time.perf_counter()
            event, payload = reader.events.get()
            waited += time.perf_counter() - asked
            if event == "block" and added is not None and not restarted:
                # Summed up here: the reader, which checks every cell, is the busier of the two.
                more = stage.add_new(stage.summary(payload))
                if more is None:
                    transaction.savepoint_rollback(before)
                added = None if more is None else added + more
            elif event == "restart":
                if added is not None and added.staged:
                    transaction.savepoint_rollback(before)
                restarted = True
            elif event == "done":
                rows_read = payload
                break
            elif event == "failed":
                raise payload
    finally:
        reader.stop.set()
        reader.join()
    transaction.savepoint_commit(before)
    logger.info(
        "pipeline, batch %s: the writer waited %.2fs for blocks; %s",
        stage.batch.pk, waited,
        "lane declined, merged after" if restarted else "full merge after" if added is None else "all added as new",
    )  # fmt: skip
    if restarted:
        merged = stage.merge()
    elif added is None:
        merged = stage.merge_into_existing()
    else:
        merged = stage.merged_new(added)
    return rows_read, merged, reader.finished_at
