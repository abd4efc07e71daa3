"""Graphs that ship with Spindle: the offline weather agent, echo and interruptible."""
