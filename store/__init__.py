"""Long-term memory: store items, their TTLs and semantic index, and the BaseStore graphs get."""
