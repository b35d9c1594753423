"""Run one validated operation with graphql-core: Amplify's admin-role check, then the DynamoDB resolvers.

Resolver errors come back the way AppSync reports them: the field is ``null`` in ``data`` and ``errors`` holds
``{"path", "data": null, "errorType", "errorInfo": null, "locations", "message"}`` ([KC] in
``sandbox.appsync.responses``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from inspect import isawaitable
from typing import Any, TypeVar

from graphql import GraphQLError, GraphQLResolveInfo, GraphQLSchema, OperationDefinitionNode
from graphql.execution import ExecutionResult, execute
from graphql.language import DocumentNode

from sandbox.appsync.documents import variable_error
from sandbox.appsync.resolvers import ResolverError, TodoTable
from sandbox.appsync.stats import Stats

T = TypeVar("T")
RunBlocking = Callable[[Callable[[], T]], Awaitable[T]]


@dataclass(frozen=True)
class CallContext:
    caller_arn: str
    admitted: bool  # Amplify's admin-role rule, decided once per request


class Executor:
    def __init__(self, schema: GraphQLSchema, table: TodoTable, run_blocking: RunBlocking[Any], stats: Stats):
        self.schema = schema
        self.table = table
        self.run_blocking = run_blocking
        self.stats = stats
        self.root = {
            "getTodo": self._get,
            "listTodos": self._list,
            "createTodo": self._create,
            "updateTodo": self._update,
            "deleteTodo": self._delete,
        }

    async def run(
        self,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        variables: dict[str, Any] | None,
        context: CallContext,
    ) -> dict[str, Any]:
        """The response body for one operation (``data`` and, when any, ``errors``)."""
        result = execute(
            self.schema,
            document,
            root_value=self.root,
            context_value=context,
            variable_values=variables,
            operation_name=operation.name.value if operation.name else None,
        )
        if isawaitable(result):
            result = await result
        assert isinstance(result, ExecutionResult)
        body: dict[str, Any] = {"data": result.data}
        if result.errors:
            body["errors"] = [self._error(e, result.data is None) for e in result.errors]
        return body

    def _error(self, error: GraphQLError, before_execution: bool) -> dict[str, Any]:
        original = error.original_error
        locations = [
            {"line": loc.line, "column": loc.column, "sourceName": None} for loc in error.locations or ()
        ]
        if isinstance(original, ResolverError):
            return {
                "path": error.path,
                "data": None,
                "errorType": original.error_type,
                "errorInfo": None,
                "locations": locations,
                "message": original.message,
            }
        if before_execution and error.path is None:
            return variable_error(self.schema, error)
        return {"path": error.path, "locations": locations or None, "message": error.message}

    # --- resolvers (root fields); each runs Amplify's auth check first --------------------------------------
    async def _create(self, info: GraphQLResolveInfo, input: dict[str, Any], condition: Any = None) -> Any:
        _authorize(info)
        item = await self.run_blocking(lambda: self.table.create(dict(input), condition))
        self._record(info, item)
        return item

    async def _update(self, info: GraphQLResolveInfo, input: dict[str, Any], condition: Any = None) -> Any:
        _authorize(info)
        item = await self.run_blocking(lambda: self.table.update(dict(input), condition))
        self._record(info, item)
        return item

    async def _delete(self, info: GraphQLResolveInfo, input: dict[str, Any], condition: Any = None) -> Any:
        _authorize(info)
        item = await self.run_blocking(lambda: self.table.delete(dict(input), condition))
        self._record(info, item)
        return item

    async def _get(self, info: GraphQLResolveInfo, id: str) -> Any:
        _authorize(info)
        return await self.run_blocking(lambda: self.table.get(id))

    async def _list(
        self,
        info: GraphQLResolveInfo,
        filter: Any = None,
        limit: int | None = None,
        nextToken: str | None = None,
    ) -> Any:
        _authorize(info)
        return await self.run_blocking(lambda: self.table.list(filter, limit, nextToken))

    def _record(self, info: GraphQLResolveInfo, item: dict[str, Any]) -> None:
        context: CallContext = info.context
        self.stats.record_mutation(info.field_name, item.get("id"), context.caller_arn)


def _authorize(info: GraphQLResolveInfo) -> None:
    """Amplify's ``@auth(rules: [{allow: private, provider: iam}])`` check for a non-Cognito IAM caller."""
    context: CallContext = info.context
    if not context.admitted:
        raise ResolverError(
            "Unauthorized", f"Not Authorized to access {info.field_name} on type {info.parent_type.name}"
        )
