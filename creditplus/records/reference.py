"""Reference data of this app, loaded by ``creditplus load_reference`` in app order."""

from __future__ import annotations

from django.db import transaction

from creditplus.accounts.models import Department
from creditplus.accounts.services import read_reference
from creditplus.catalog.services import load_summary, upsert_reference
from creditplus.records.models import ReportingAuthority


@transaction.atomic
def load_reporting_authorities() -> str:
    """Load ``reporting_authorities.yaml``: who may submit records of which other authority."""
    data = read_reference("reporting_authorities.yaml")
    results = [
        upsert_reference(
            ReportingAuthority,
            {"department": Department.objects.get(code=a["department"]), "uscc": str(a["uscc"])},
            data["version"],
            {"name": a["name"]},
        )
        for a in data.get("authorities") or []
    ]
    return load_summary("可代为报送的机关", results)


LOADERS = [load_reporting_authorities]
