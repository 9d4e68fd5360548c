"""optimize layer of gausslj; see docs/architecture.md."""
