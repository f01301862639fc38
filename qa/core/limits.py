"""The limits of a request, one source for the core, the CLI and the HTTP schema."""

# A question longer than this is refused (422 / exit 1) rather than embedded.
MAX_QUESTION_CHARS = 2000
# Passages a question may ask to have cited, and how many it gets by default.
MAX_K = 50
DEFAULT_K = 5
# An article's title and url, as PUT /articles accepts them.
MAX_TITLE_CHARS = 1000
MAX_URL_CHARS = 2048
