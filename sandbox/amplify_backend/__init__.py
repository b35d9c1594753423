"""Amplify's own Gen 1 resolvers (transformer output in Amplify's AppSync simulator) as the sandbox's AppSync API.

See ``backend`` for how it is put together and ``node`` for the Node packages it needs.
"""

from sandbox.amplify_backend.backend import (
    AmplifyResolvers,
    AmplifySchemaError,
    BackendError,
    UnservedField,
    amplify_appsync,
    for_sandbox,
)
from sandbox.amplify_backend.node import NodeUnavailable, node_modules

__all__ = [
    "AmplifyResolvers",
    "AmplifySchemaError",
    "BackendError",
    "NodeUnavailable",
    "UnservedField",
    "amplify_appsync",
    "for_sandbox",
    "node_modules",
]
