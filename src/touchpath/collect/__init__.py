"""Getting touchpoints in: file imports now; the HTTP collector and the JS snippet next."""
