"""The limits of a request, one source for the core, the CLI and the HTTP schema."""

# A question longer than this is refused (422 / exit 1) rather than embedded.
MAX_QUESTION_CHARS = 2000
# A question is embedded from its first this many tokens (BM25 still reads all of it). 128 tokens are some
# 500 French characters, past any real question; embedding them costs 0.23 s against 0.11 s for a short
# question on one core, where 2,000 characters of CJK or emoji (2,000+ tokens) took 5 s.
MAX_QUESTION_TOKENS = 128
# Passages a question may ask to have cited, and how many it gets by default.
MAX_K = 50
DEFAULT_K = 5
# An article's title and url, as PUT /articles accepts them.
MAX_TITLE_CHARS = 1000
MAX_URL_CHARS = 2048
# Events a timeline lists at most, and by default.
MAX_TIMELINE = 1000
DEFAULT_TIMELINE = 100
