"""Pure core of Casino CRM: the event contract, the player profile, settings.

Nothing in this package does I/O, so Temporal workflows may import all of it.
"""
