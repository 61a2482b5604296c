"""Management commands of the change process: on top of every capability."""
