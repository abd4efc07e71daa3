"""Signals the run engine sends, so apps above it (webhooks) react without runs importing them."""

from __future__ import annotations

from django.dispatch import Signal

# Sent once a run has ended (success, error, timeout, interrupted), with run_id (UUID),
# status (str), error (dict | None) and values (the state it left, or None). A run whose
# webhook the worker knows of ends in a transaction that the signal is sent in: what a
# receiver writes commits with the run's end, or not at all. Otherwise it is sent right
# after the commit. Receivers must be quick and must not raise (they run on the path that
# ends the run), and a receiver that writes does so in atomic(): inside the run's
# transaction that is a savepoint, so its failure never undoes the end.
run_ended = Signal()
