"""Tests of each route module, over real HTTP."""
