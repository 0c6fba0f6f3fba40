"""Research tools: web search, page visits, the local library, and a Python sandbox."""
