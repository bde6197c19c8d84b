"""Reference data of this app, loaded by ``creditplus load_reference`` in app order."""

from creditplus.sanctions.services import load_measures

LOADERS = [load_measures]
