"""The HTTP layer: dependencies, routers, error handlers, OpenAPI helpers and middleware.

It translates between HTTP and the core (AuthError -> 401/403, NoAnswerError -> 503, ...) and holds
no scoring, token or audit logic of its own.
"""
