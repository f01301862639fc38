"""Tests of qa/index."""
