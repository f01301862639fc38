"""Generated answers: an LLM writes the answer in the asker's language, and each sentence is checked against what it cites."""
