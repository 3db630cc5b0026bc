"""Suppliers and, in later work, lots, stock and transfers."""
