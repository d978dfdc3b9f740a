"""One router per concern: scoring, health and model info, metrics."""
