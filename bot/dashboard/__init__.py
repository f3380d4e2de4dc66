"""The staff web dashboard: server-rendered pages on the `pustaka run` HTTP server, signed in
through a one-time link sent in the chat (docs/dashboard.md)."""
