"""Tests of qa/answering."""
