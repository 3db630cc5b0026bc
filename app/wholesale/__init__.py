"""The wholesale channel (PRD buyers): companies and their terms, delivery trips, documents."""
