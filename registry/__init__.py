"""cubeops registry: everything that talks to the MLflow Model Registry (aliases, gate, lineage)."""
