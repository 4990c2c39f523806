"""Clients for the operator's platform: PAM, wallet and bonus engine, messaging, games, risk."""
