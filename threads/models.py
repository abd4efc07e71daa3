"""Thread and the checkpoint rows the Django checkpointer reads and writes."""

from __future__ import annotations

from django.db import models

from core.ids import uuid7


class ThreadStatus(models.TextChoices):
    IDLE = "idle"
    BUSY = "busy"
    INTERRUPTED = "interrupted"
    ERROR = "error"


class Thread(models.Model):
    thread_id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    status = models.CharField(
        max_length=16, choices=ThreadStatus.choices, default=ThreadStatus.IDLE
    )
    metadata = models.JSONField(default=dict, blank=True)
    config = models.JSONField(default=dict, blank=True)
    # Cached from the latest checkpoint so GET /threads/{id} needs no checkpoint read.
    values = models.JSONField(null=True, blank=True)
    interrupts = models.JSONField(default=dict, blank=True)
    error = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    state_updated_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["-created_at"], name="thread_created_idx"),
            models.Index(fields=["status"], name="thread_status_idx"),
        ]

    def __str__(self) -> str:
        return str(self.thread_id)


class _CheckpointOwned(models.Model):
    """Columns every checkpoint table shares: its natural thread key and the run that wrote it.

    `thread_id`/`run_id` are plain columns because the saver also serves callers with
    no Thread or Run rows (the conformance suite, scripts). When the run engine writes,
    it binds the saver, which also fills the foreign keys: deleting the run or the
    thread then deletes these rows, and a late write for a deleted run is refused.
    """

    thread_id = models.CharField(max_length=255)
    checkpoint_ns = models.CharField(max_length=255, default="", blank=True)
    # Indexed by each table's Meta: a plain btree (db_index on a varchar would add a second,
    # LIKE-only index that every insert maintains).
    run_id = models.CharField(max_length=255, null=True, blank=True)
    owner_thread = models.ForeignKey(
        Thread, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    owner_run = models.ForeignKey(
        "runs.Run", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )

    class Meta:
        abstract = True


class Checkpoint(_CheckpointOwned):
    checkpoint_id = models.CharField(max_length=64)
    parent_checkpoint_id = models.CharField(max_length=64, null=True, blank=True)
    # The serialized checkpoint without channel_values (those live in CheckpointBlob).
    type = models.CharField(max_length=32)
    checkpoint = models.BinaryField()
    metadata = models.JSONField(default=dict)
    # A copy of the checkpoint's channel_versions, so the blobs a checkpoint needs can be
    # found by a query (delete_for_runs, prune) without deserializing every checkpoint.
    channel_versions = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["thread_id", "checkpoint_ns", "checkpoint_id"],
                name="checkpoint_natural_key",
            ),
        ]
        # The latest checkpoint of a thread is a backward scan of the natural key's index.
        indexes = [models.Index(fields=["run_id"], name="checkpoint_run_idx")]

    def __str__(self) -> str:
        return f"{self.thread_id}/{self.checkpoint_ns}/{self.checkpoint_id}"


class CheckpointBlob(_CheckpointOwned):
    """One channel value per channel version, shared by every checkpoint that saw it.

    A list value (a message history) is stored as its serialized elements. When the list
    extends an earlier version of the same channel, the row holds only the new elements and
    names that version in `base_version`, so appending one message to a long history
    writes one message, not the history. `length` and `digest` (a hash chained over the
    serialized elements) let the next version check the prefix without reading it back.
    """

    channel = models.CharField(max_length=255)
    version = models.CharField(max_length=255)
    type = models.CharField(max_length=32)
    blob = models.BinaryField(null=True)
    base_version = models.CharField(max_length=255, null=True, blank=True)
    length = models.IntegerField(null=True, blank=True)
    digest = models.CharField(max_length=64, null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["thread_id", "checkpoint_ns", "channel", "version"], name="blob_natural_key"
            ),
        ]
        indexes = [models.Index(fields=["run_id"], name="blob_run_idx")]

    def __str__(self) -> str:
        return f"{self.thread_id}/{self.channel}@{self.version}"


class CheckpointWrite(_CheckpointOwned):
    """A pending write of a task, kept until the step that produced it is checkpointed."""

    checkpoint_id = models.CharField(max_length=64)
    task_id = models.CharField(max_length=255)
    task_path = models.CharField(max_length=1024, default="", blank=True)
    idx = models.IntegerField()
    channel = models.CharField(max_length=255)
    type = models.CharField(max_length=32)
    blob = models.BinaryField(null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["thread_id", "checkpoint_ns", "checkpoint_id", "task_id", "idx"],
                name="write_natural_key",
            ),
        ]
        indexes = [models.Index(fields=["run_id"], name="write_run_idx")]

    def __str__(self) -> str:
        return f"{self.thread_id}/{self.checkpoint_id}/{self.task_id}[{self.idx}]"
