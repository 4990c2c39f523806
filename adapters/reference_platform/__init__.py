"""A runnable stand-in for the operator's platform: the HTTP contract plus an SMTP sink."""
