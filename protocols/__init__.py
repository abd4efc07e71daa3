"""Agent protocols: the thread-stream protocol (SSE and websocket), Agent2Agent and MCP."""
