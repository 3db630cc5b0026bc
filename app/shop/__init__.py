"""The shop channel: consumers buying on the storefront and the JSON API, for pickup at a village
station or home delivery. A channel package sits above the domains — it may use orders, stations,
supply and catalog; no domain imports it."""
