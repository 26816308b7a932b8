"""cubeops status: the status model, store, publishing, badges and the status HTTP service.

Imports nothing heavy: a badge server must start in well under a second, without torch.

``model``       stages, states, colours and the derived states (stale, stalled); pure
``store``       current state and history on SQLAlchemy (sqlite WAL or PostgreSQL)
``publish``     one ``publish`` for the flows: the local store or a remote status server
``markdown``    the README badge block
``widths``      anafanafo's character-width tables (``widths-*.json``), as shields measures text
``badge``       ``render_badge``: SVG byte-identical to shields' badge-maker 6.x, and endpoint JSON
``tokens``      read and write tokens: created once, stored hashed, revoked, leak handling
``params``      checking badge and publish requests; pure
``snapshot``    bulk reads of the store and its change fingerprint
``view``        the in-memory faces and access rules every badge is answered from
``responses``   rendered badges with their caching headers, cached
``probe``       looking at a served model's ``/health``
``reconciler``  keeps the view true: reloads, derives, probes, writes token use and leaks back
``metrics``     Prometheus text
``openapi``     the OpenAPI description of the JSON endpoints
``redact``      keeping tokens out of logs
``settings``    the service's settings, from the spec and the environment
``app``         the ASGI app (badge fast path + Starlette routes)
``serve``       running it under uvicorn (``cubeops status serve``)
"""
