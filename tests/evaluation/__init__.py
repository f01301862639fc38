"""Tests of the evaluation package (qa.evaluation)."""
