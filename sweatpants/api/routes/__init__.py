"""One module per group of endpoints, each exposing `router`."""
