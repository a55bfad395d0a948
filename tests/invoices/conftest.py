"""Fixtures of the invoice tests."""

from __future__ import annotations

import pytest

from invoices.imports import copy_lane, pipeline


@pytest.fixture
def pipelined(monkeypatch):
    """Blocks of about ten rows, and a record of every import that went through the pipeline."""
    monkeypatch.setattr(copy_lane, "COPY_BLOCK", 2000)
    monkeypatch.setattr(copy_lane, "READ_BYTES", 1000)
    used = []
    real = pipeline.import_pipelined

    def spy(stage, stream, layout):
        used.append(stage.batch.pk)
        return real(stage, stream, layout)

    monkeypatch.setattr("invoices.imports.services.import_pipelined", spy)
    return used
