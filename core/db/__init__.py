"""Database helpers: async calls, hand-written SQL, planner statistics."""
