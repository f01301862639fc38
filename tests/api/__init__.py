"""Tests of the HTTP service and its page, against the real service on loopback ports."""
