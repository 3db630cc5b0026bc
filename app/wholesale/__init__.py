"""The wholesale channel: PRD buyer companies' onboarding, colleagues, terms and API keys."""
