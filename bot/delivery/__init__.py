"""Delivery: the outbox worker, the per-channel rate limits, and the scheduler that drives them."""
