"""Tests of qa.embedding: the E5S1 reader, provisioning and the encoder."""
