"""Orders of every channel, checkout, payments (provider layer), refunds, the webhook inbox."""
