"""Harvest pre-sale waves (预售): customers order boxes before the harvest, against a capped wave."""
