"""Domain-free building blocks: base model, money, quantities, errors, outbox."""
