"""Database helpers: async calls, a loop's database thread, hand-written SQL, planner statistics."""
