"""``newssearch serve``: a search page and a JSON HTTP API over an index.

:func:`newssearch.web.app.create_app` builds the ASGI application
(Starlette); :func:`newssearch.web.server.run` serves it with uvicorn. The
web layer holds no search logic: every answer is one call of the library,
and the API's JSON is :func:`newssearch.render.to_data` of it, exactly what
``newssearch query --format json`` prints. Nothing here is imported by the
other commands.
"""
