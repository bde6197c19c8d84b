"""Reference data of this app, loaded by ``creditplus load_reference`` in app order."""

from creditplus.supervision.dual_notice import load_permit_rules
from creditplus.supervision.services import load_fields, load_templates

LOADERS = [load_fields, load_templates, load_permit_rules]
