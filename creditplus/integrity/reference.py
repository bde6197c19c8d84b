"""Reference data of this app, loaded by ``creditplus load_reference`` in app order."""

from creditplus.integrity.services import load_indicators

LOADERS = [load_indicators]
