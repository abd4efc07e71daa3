"""The LangGraph checkpointer over the checkpoint models (threads/models.py): DjangoSaver."""

from threads.checkpointer.lists import EMPTY_BLOB_TYPE, LIST_BLOB_TYPE
from threads.checkpointer.saver import DjangoSaver

__all__ = ("EMPTY_BLOB_TYPE", "LIST_BLOB_TYPE", "DjangoSaver")
