"""Route modules: thin adapters from HTTP to Engine calls."""
