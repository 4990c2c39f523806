"""The lifecycle journeys, one workflow per run, started by PlayerWorkflow as child workflows."""
