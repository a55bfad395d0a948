"""Deferred-filing applications (延期申报): a filing period whose deadline an outage covers.

Models live in `models.py` here and are registered with the `recovery` app (imported by recovery/models.py).
They go through the review workflow of reissue requests (recovery/reissue/); the dashboard reminder is
`reminders.py`.
"""
