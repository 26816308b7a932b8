"""cubeops flows: the project spec, the CLI, and the Prefect flows with the pure steps they call."""
