"""Use cases and the ports they need. Standard library and sono.domain only."""
