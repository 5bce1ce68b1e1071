"""Customer-retention analysis."""
