"""Assistant and AssistantVersion: a graph plus the configuration it runs with."""

from __future__ import annotations

import uuid

from django.db import models

# metadata["created_by"] of the assistant each graph gets when the server starts.
SYSTEM_CREATED_BY = "system"


class Assistant(models.Model):
    assistant_id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    graph_id = models.CharField(max_length=255, db_index=True)
    name = models.CharField(max_length=255, default="Untitled")
    description = models.TextField(null=True, blank=True)
    config = models.JSONField(default=dict, blank=True)
    context = models.JSONField(default=dict, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["-created_at"], name="assistant_created_idx")]

    def __str__(self) -> str:
        return f"{self.name} ({self.graph_id})"


class AssistantVersion(models.Model):
    assistant = models.ForeignKey(Assistant, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    graph_id = models.CharField(max_length=255)
    name = models.CharField(max_length=255)
    description = models.TextField(null=True, blank=True)
    config = models.JSONField(default=dict, blank=True)
    context = models.JSONField(default=dict, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["assistant", "version"], name="assistant_version_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.assistant_id} v{self.version}"
