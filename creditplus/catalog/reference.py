"""Reference data of this app, loaded by ``creditplus load_reference`` in app order."""

from creditplus.catalog.names import load_english_names
from creditplus.catalog.services import (
    load_behavior_rules,
    load_calendar,
    load_catalog_items,
    load_code_tables,
    load_matters,
)

LOADERS = [
    load_code_tables,
    load_catalog_items,
    load_behavior_rules,
    load_matters,
    load_calendar,
    load_english_names,
]
