"""Rule files (YAML, per brand) and the engine that evaluates them."""
