"""Jobs: the scheduler (parent side), the runner (child side) and the protocol between them."""
