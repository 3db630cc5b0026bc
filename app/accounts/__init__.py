"""Users, roles, sessions, API and device tokens, wholesale buyer companies."""
