"""Load langgraph.json and create the system assistant of every graph that lacks one."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from assistants.graphs import GraphRegistryError, graph_ids
from assistants.services import assistant_ensure_defaults
from core.errors import SpindleError


class Command(BaseCommand):
    help = "Check langgraph.json (LANGGRAPH_CONFIG) and create each graph's system assistant."

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            ids = graph_ids()
            assistant_ensure_defaults()
        except (GraphRegistryError, SpindleError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"System assistants ready for {len(ids)} graph(s): {', '.join(ids)}")
