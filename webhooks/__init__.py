"""Webhooks: the run, POSTed to its webhook URL when it ends, by a task of its own."""
