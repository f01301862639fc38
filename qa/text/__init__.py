"""Text analysis for French and English: tokens and stems, sentences, dates, names, answer types."""
