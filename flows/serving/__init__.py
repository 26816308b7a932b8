"""The local model server: MLflow's scoring app behind cubeops's health, caps and auth, and its processes.

``settings``  what one server process serves and how (written by the deployer, read by the server)
``limits``    request caps and JSON parsing, pure
``app``       the ASGI app wrapping MLflow's scoring app
``sockets``   the shared public port (SO_REUSEPORT) and steering new connections to the newest server
``server``    the server process's entry point (``python -m flows.serving.server SETTINGS``)
``process``   the deployer's side: pid files, logs, start, switch without a failed request, stop
``probe``     the health probe behind the Serving badge
"""
