"""The index on disk: chunking, the SQLite store, the FAISS dense index, the manifest, the writer and the sync."""
