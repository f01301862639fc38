"""Evaluation of retrieval and answers: gold questions, PIAF, the LangChain baseline, reports."""
