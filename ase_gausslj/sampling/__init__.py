"""sampling layer of gausslj; see docs/architecture.md."""
