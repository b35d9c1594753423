"""A local stand-in for the account-B AppSync API: SigV4, IAM field checks, Amplify's admin-role rule,
DynamoDB resolvers for the ``Todo`` model, fault injection and stats.

``AppSyncStandIn`` is imported lazily so that ``import sandbox.appsync`` stays cheap (aiohttp, graphql-core
and boto3 load when the class is first used).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sandbox.appsync.faults import Faults
    from sandbox.appsync.server import AppSyncStandIn
    from sandbox.appsync.stats import Stats

__all__ = ["AppSyncStandIn", "Faults", "Stats"]


def __getattr__(name: str) -> Any:
    if name == "AppSyncStandIn":
        from sandbox.appsync.server import AppSyncStandIn

        return AppSyncStandIn
    if name == "Faults":
        from sandbox.appsync.faults import Faults

        return Faults
    if name == "Stats":
        from sandbox.appsync.stats import Stats

        return Stats
    raise AttributeError(f"module 'sandbox.appsync' has no attribute {name!r}")
