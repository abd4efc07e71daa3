"""Signals the run engine sends, so apps above it (webhooks) react without runs importing them."""

from __future__ import annotations

from django.dispatch import Signal

# Sent after commit, once a run has ended (success, error, timeout, interrupted), with
# run_id (UUID), status (str), error (dict | None) and values (the state it left, or None).
# Receivers must be quick and must not raise: they run on the path that ends the run.
run_ended = Signal()
