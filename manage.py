#!/usr/bin/env python
"""Django's command-line utility for Spindle."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as exc:
        # A malformed setting or langgraph.json: the message names it, a traceback would hide it.
        sys.stderr.write(f"Spindle cannot start: {exc}\n")
        sys.exit(2)


if __name__ == "__main__":
    main()
