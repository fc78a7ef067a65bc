"""The encrypted, tamper-evident audit log: format, keys, writer, reader (walk), records."""
