"""The timeline: dated events found in the articles' sentences, merged across articles, filtered by period and query."""
