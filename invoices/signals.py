"""Signals other apps listen to. invoices never imports recovery, so recovery learns of
new data this way and starts a reconciliation run."""

from django.dispatch import Signal

# Sent after an ImportBatch succeeded and its transaction committed. kwargs: batch (ImportBatch).
import_batch_succeeded = Signal()
