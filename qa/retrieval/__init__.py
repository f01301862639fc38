"""Retrieval: the question analysed once, dense and lexical candidates, their fusion."""
