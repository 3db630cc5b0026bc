"""Village stations (村级电商物流服务站) where customers pick up their orders."""
