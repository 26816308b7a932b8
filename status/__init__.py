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
``webhooks``    change events and their background delivery with retries
``notify``      which changes are announced, by whom; failed deliveries recorded in the store
``charts``      SVG line and bar charts for the project page; pure
``pagedata``    what the project page shows, read from the store
``page``        the project page HTML (Dataset, Training, Deployment tabs); pure
``export``      badges, endpoint JSON and the page as static files (GitHub Pages)
``readme``      the README badge block and model card; badge token checks
``app``         the ASGI app (badge fast path + Starlette routes, the project page)
``serve``       running it under uvicorn (``cubeops status serve``)
"""
