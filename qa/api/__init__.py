"""The HTTP service: a FastAPI app over the Engine, and the web page that asks through it."""
