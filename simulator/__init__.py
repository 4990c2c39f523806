"""A synthetic casino that drives the CRM: players of known archetypes, their events, the truth."""
