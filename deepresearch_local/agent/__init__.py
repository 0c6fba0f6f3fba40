"""The research agent: Tongyi's ReAct protocol, context folding, reports, resumable runs."""
