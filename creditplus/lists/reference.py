"""Reference data of this app, loaded by ``creditplus load_reference`` in app order."""

from creditplus.lists.services import load_deadlines, load_list_types

LOADERS = [load_deadlines, load_list_types]
