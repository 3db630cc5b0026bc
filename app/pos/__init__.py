"""Brand stores (the county brand's shops in farmers' markets) and their tills."""
