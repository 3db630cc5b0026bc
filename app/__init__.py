"""南岭明珠 Nanling Pearl: commerce and supply-chain platform of Shixing County's agricultural brand."""
