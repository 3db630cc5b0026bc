"""Brand stores (南岭明珠 shops in farmers' markets) and their tills."""
