"""The index in PostgreSQL with pgvector: schema, store, writer, replicas, and a loopback server for tests."""
