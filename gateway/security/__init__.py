"""Who may ask, how much they may ask, and what a bad request gets (issue 6).

Plain ASGI middleware, outermost first as `gateway.app` stacks them:
`headers` (security headers on every response), `cors` (an origin allow-list),
`auth` (API keys or bearer JWTs from `tokens`), `body` (size limit); `settings` reads
the environment; `errors` shapes every refusal like a GraphQL answer with a code.
"""

from gateway.security.settings import SecuritySettings

__all__ = ["SecuritySettings"]
