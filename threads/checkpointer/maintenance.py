"""DjangoSaver's deletes, copies and pruning."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from django.db import transaction

from threads.checkpointer.lists import (
    ListValue,
    frame,
)
from threads.checkpointer.reads import CHAIN_PAGE
from threads.checkpointer.writes import SaverWrites
from threads.models import Checkpoint as CheckpointRow
from threads.models import CheckpointBlob, CheckpointWrite

logger = logging.getLogger(__name__)


class SaverMaintenance(SaverWrites):
    """Deleting, copying and pruning a thread's checkpoints (see DjangoSaver)."""

    def delete_thread(self, thread_id: str) -> None:
        thread_id = str(thread_id)
        with transaction.atomic():
            for model in (CheckpointWrite, CheckpointRow, CheckpointBlob):
                model.objects.filter(thread_id=thread_id).delete()
        logger.info("Deleted checkpoints of thread %s", thread_id)

    def delete_for_runs(self, run_ids: Sequence[str]) -> dict[str, int]:  # type: ignore[override]  # the counts, for run deletes
        """Delete the checkpoints, writes and blobs recorded with these run ids.

        A blob of these runs that a remaining checkpoint of its thread and namespace
        still needs (directly or as the base of a list delta) is kept and released from
        its owner run, so deleting the Run row later cannot take it away. Returns the
        rows deleted per model, as Django's `delete()` counts them.
        """
        run_ids = [str(run_id) for run_id in run_ids]
        deleted: dict[str, int] = {}
        if not run_ids:
            return deleted
        with transaction.atomic():
            scopes = set(
                CheckpointBlob.objects.filter(run_id__in=run_ids)
                .values_list("thread_id", "checkpoint_ns")
                .distinct()
            )
            for model in (CheckpointRow, CheckpointWrite):
                deleted.update(model.objects.filter(run_id__in=run_ids).delete()[1])
            for thread_id, ns in scopes:
                needed = self._needed_blobs(
                    thread_id,
                    ns,
                    CheckpointRow.objects.filter(thread_id=thread_id, checkpoint_ns=ns).values_list(
                        "channel_versions", flat=True
                    ),
                )
                keep: list[int] = []
                drop: list[int] = []
                for pk, channel, version in CheckpointBlob.objects.filter(
                    thread_id=thread_id, checkpoint_ns=ns, run_id__in=run_ids
                ).values_list("pk", "channel", "version"):
                    (keep if (channel, version) in needed else drop).append(pk)
                if drop:
                    CheckpointBlob.objects.filter(pk__in=drop).delete()
                if keep:
                    CheckpointBlob.objects.filter(pk__in=keep).update(owner_run=None)
        logger.info("Deleted checkpoints of runs %s", ", ".join(run_ids))
        return deleted

    def _needed_blobs(self, thread_id: str, ns: str, channel_versions: Any) -> set[tuple[str, str]]:
        """(channel, version) of every blob these checkpoints read, bases of deltas included."""
        needed = {
            (channel, str(version))
            for versions in channel_versions
            for channel, version in versions.items()
        }
        bases = {
            (channel, version): base_version
            for channel, version, base_version in CheckpointBlob.objects.filter(
                thread_id=thread_id, checkpoint_ns=ns, base_version__isnull=False
            ).values_list("channel", "version", "base_version")
        }
        pending = list(needed)
        while pending:
            channel, version = pending.pop()
            base_version = bases.get((channel, version))
            if base_version is not None and (channel, base_version) not in needed:
                needed.add((channel, base_version))
                pending.append((channel, base_version))
        return needed

    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        """Copy every checkpoint, blob and write of a thread to another thread id.

        The copies are bound to no run and to no thread (`run_id`, `owner_run` and
        `owner_thread` are NULL; the original run id stays in the checkpoint metadata),
        so deleting the source's runs never touches them. The caller that owns the
        target Thread row (the thread_copy service) sets `owner_thread` afterwards.
        Rows the target already has are left as they are.
        """
        source, target = str(source_thread_id), str(target_thread_id)
        if source == target:
            return
        unbound = {"run_id": None, "owner_run_id": None, "owner_thread_id": None}
        with transaction.atomic():
            for model in (CheckpointBlob, CheckpointRow, CheckpointWrite):
                batch: list[Any] = []
                for row in (
                    model.objects.filter(thread_id=source)
                    .order_by("pk")
                    .iterator(chunk_size=CHAIN_PAGE)
                ):
                    row.pk = None
                    row.thread_id = target
                    for name, value in unbound.items():
                        setattr(row, name, value)
                    batch.append(row)
                    if len(batch) >= CHAIN_PAGE:
                        model.objects.bulk_create(batch, ignore_conflicts=True)
                        batch = []
                if batch:
                    model.objects.bulk_create(batch, ignore_conflicts=True)
        logger.info("Copied checkpoints of thread %s to thread %s", source, target)

    def prune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        """Keep only the latest checkpoint per namespace ("keep_latest"), or nothing ("delete").

        keep_latest also drops the writes of the deleted checkpoints and every blob the
        kept checkpoints do not read; a kept list value stored as a delta is rewritten
        in full so that its older versions can go.
        """
        if strategy not in ("keep_latest", "delete"):
            raise ValueError(f"Unknown prune strategy {strategy!r}: use 'keep_latest' or 'delete'")
        for thread_id in map(str, thread_ids):
            if strategy == "delete":
                self.delete_thread(thread_id)
                continue
            with transaction.atomic():
                self._prune_keep_latest(thread_id)

    def _prune_keep_latest(self, thread_id: str) -> None:
        namespaces = set(
            CheckpointRow.objects.filter(thread_id=thread_id).values_list(
                "checkpoint_ns", flat=True
            )
        )
        for model in (CheckpointBlob, CheckpointWrite):
            model.objects.filter(thread_id=thread_id).exclude(checkpoint_ns__in=namespaces).delete()
        for ns in namespaces:
            latest = (
                CheckpointRow.objects.filter(thread_id=thread_id, checkpoint_ns=ns)
                .order_by("-checkpoint_id")
                .first()
            )
            if latest is None:
                continue
            CheckpointRow.objects.filter(thread_id=thread_id, checkpoint_ns=ns).exclude(
                pk=latest.pk
            ).delete()
            CheckpointWrite.objects.filter(thread_id=thread_id, checkpoint_ns=ns).exclude(
                checkpoint_id=latest.checkpoint_id
            ).delete()
            wanted = {
                (channel, str(version)) for channel, version in latest.channel_versions.items()
            }
            values = self._load_values(thread_id, ns, wanted)
            keep = []
            for pk, channel, version, base_version in CheckpointBlob.objects.filter(
                thread_id=thread_id, checkpoint_ns=ns
            ).values_list("pk", "channel", "version", "base_version"):
                if (channel, version) not in wanted:
                    continue
                keep.append(pk)
                stored = values.get((channel, version))
                if base_version is not None and isinstance(stored, ListValue):
                    CheckpointBlob.objects.filter(pk=pk).update(
                        blob=frame(stored.elements), base_version=None
                    )
            CheckpointBlob.objects.filter(thread_id=thread_id, checkpoint_ns=ns).exclude(
                pk__in=keep
            ).delete()
