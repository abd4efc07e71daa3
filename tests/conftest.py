"""Shared fixtures: the real database comes from DATABASE_URL (see the Makefile)."""

from __future__ import annotations
