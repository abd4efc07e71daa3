"""Who may do what: API keys, langgraph.json custom auth, and the filters its handlers return."""
