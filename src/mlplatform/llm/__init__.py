"""LLM serving: the model catalog and capacity check, and the cluster rendering of vLLM on
KServe (``mlp deploy llm``). See docs/llm.md."""
