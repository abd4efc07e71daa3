"""Date formats the admin shows: timestamps to the millisecond, never just the minute."""
