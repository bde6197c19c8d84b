"""Reference data of this app, loaded by ``creditplus load_reference`` in app order."""

from creditplus.evaluation.services import load_models

LOADERS = [load_models]
