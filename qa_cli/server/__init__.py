"""`kotae serve`: the HTTP API and the page (needs the ``serve`` extra: FastAPI and uvicorn).

Nothing is imported here, so that ``import qa_cli.server`` costs nothing and a missing extra
is reported by :func:`qa_cli.server.run.serve`'s caller with the package to install.
"""
