"""Moving bytes: one HTTP session with its retry policy, URL redaction,
verified resumable downloads."""
