"""Tests of qa/text."""
