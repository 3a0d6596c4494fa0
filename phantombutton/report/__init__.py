"""Bug reports: the report archive, its summary, the timeline picture (between service and cli)."""
