"""Reissue requests (补开发票 / 手工开票), hand-issued invoices, and the review workflow they share with
deferred-filing applications (延期申报, in recovery/deferred/).

Models live in `models.py` here and are registered with the `recovery` app (imported by recovery/models.py).
Writes go through `services.py`; the evidence pack (print view, PDF, ZIP) is built in `pack.py`.
"""
