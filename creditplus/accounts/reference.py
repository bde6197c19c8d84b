"""Reference data of this app, loaded by ``creditplus load_reference`` in app order."""

from creditplus.accounts.services import load_departments, load_roles

LOADERS = [load_departments, load_roles]
