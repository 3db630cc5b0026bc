"""The wholesale channel (PRD buyers): companies and their terms, colleagues and API keys, delivery
trips, documents."""
