from flows.cli import entrypoint

entrypoint()
