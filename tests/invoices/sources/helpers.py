"""A tax source configured against the `sim` fixture (conftest) and the simulator's fault switch."""

from __future__ import annotations

import requests

from invoices.models import TaxSource, TaxSourceKind
from invoices.sources.fetch import tax_source_save
from tests.conftest import SIMULATOR_TOKEN

TOKEN = SIMULATOR_TOKEN  # the credential the `sim` fixture (conftest) accepts


def configure(company, server, **options) -> TaxSource:
    options.setdefault("credential", TOKEN)
    return tax_source_save(company=company, kind=TaxSourceKind.SIMULATOR, base_url=server.url, **options)


def set_faults(server, **faults) -> dict:
    response = requests.post(
        f"{server.url}/admin/faults", json=faults, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5
    )
    assert response.status_code == 200, response.text
    return response.json()
