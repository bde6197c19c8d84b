"""Reference data of this app, loaded by ``creditplus load_reference`` in app order."""

from creditplus.assessments.services import load_questionnaires

LOADERS = [load_questionnaires]
