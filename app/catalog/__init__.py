"""Categories, products, variants (SKUs), price lists with tiers, and the one pricing function."""
