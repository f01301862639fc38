"""Answering: the sentence that answers, chosen among the retrieved passages, or an abstention."""
