"""The `creditplus` console command: Django's manage.py under the project's own name."""

import os
import sys


def main() -> None:
    """Run a management command, e.g. ``creditplus migrate`` or ``creditplus load_reference``."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "creditplus.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["creditplus", *sys.argv[1:]])


if __name__ == "__main__":
    main()
