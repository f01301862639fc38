"""Embedding model: provisioning of the default model and the sentence encoder."""
