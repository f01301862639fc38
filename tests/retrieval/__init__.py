"""Tests of qa/retrieval."""
