"""Resolve the few CloudFormation intrinsics CDK leaves in these templates to their deployed values.

Every resource here has a fixed physical name from the settings, so a ``Ref``/``Fn::GetAtt`` can be turned
into the URL or ARN CloudFormation will produce, without deploying. Anything else raises
:class:`UnresolvedToken` rather than passing a token on silently.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


class UnresolvedToken(ValueError):
    """A CloudFormation intrinsic this resolver cannot evaluate offline."""


@dataclass(frozen=True)
class Resolver:
    template: Mapping[str, Any]
    account: str
    region: str
    partition: str = "aws"
    #: Values for ``Ref <logical id>`` that win over the computed ones (e.g. a sandbox queue URL).
    refs: Mapping[str, str] = field(default_factory=dict)

    def resolve(self, value: Any) -> Any:
        """``value`` with every intrinsic replaced by a string; containers are copied."""
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, Mapping):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self._ref(arg)
            if key == "Fn::GetAtt":
                return self._get_att(*(arg.split(".", 1) if isinstance(arg, str) else arg))
            if key == "Fn::Join":
                separator, parts = arg
                return separator.join(str(self.resolve(p)) for p in parts)
            if key.startswith("Fn::"):
                raise UnresolvedToken(f"cannot resolve {key} offline: {value!r}")
        return {k: self.resolve(v) for k, v in value.items()}

    def _resource(self, logical_id: str) -> tuple[str, Mapping[str, Any]]:
        resource = self.template.get("Resources", {}).get(logical_id)
        if resource is None:
            raise UnresolvedToken(f"no resource {logical_id!r} in the template")
        return resource["Type"], resource.get("Properties", {})

    def _name(self, logical_id: str, key: str) -> str:
        _type, props = self._resource(logical_id)
        name = props.get(key)
        if not isinstance(name, str):
            raise UnresolvedToken(f"{logical_id} has no fixed {key}: its physical name is chosen at deploy")
        return name

    def _ref(self, target: str) -> str:
        pseudo = {
            "AWS::Partition": self.partition,
            "AWS::Region": self.region,
            "AWS::AccountId": self.account,
            "AWS::URLSuffix": "amazonaws.com",
        }
        if target in self.refs:
            return self.refs[target]
        if target in pseudo:
            return pseudo[target]
        kind, _props = self._resource(target)
        if kind == "AWS::SQS::Queue":
            return f"https://sqs.{self.region}.amazonaws.com/{self.account}/{self._name(target, 'QueueName')}"
        keys = {
            "AWS::Logs::LogGroup": "LogGroupName",
            "AWS::IAM::Role": "RoleName",
            "AWS::Lambda::Function": "FunctionName",
            "AWS::Events::EventBus": "Name",
        }
        if kind in keys:
            return self._name(target, keys[kind])
        raise UnresolvedToken(f"cannot resolve Ref {target} ({kind}) offline")

    def _get_att(self, target: str, attribute: str) -> str:
        kind, props = self._resource(target)
        head = f"arn:{self.partition}"
        if kind == "AWS::SQS::Queue":
            name = self._name(target, "QueueName")
            return {"Arn": f"{head}:sqs:{self.region}:{self.account}:{name}", "QueueName": name}[attribute]
        if attribute != "Arn":
            raise UnresolvedToken(f"cannot resolve {target}.{attribute} offline")
        if kind == "AWS::Logs::LogGroup":
            name = self._name(target, "LogGroupName")
            return f"{head}:logs:{self.region}:{self.account}:log-group:{name}:*"
        if kind == "AWS::IAM::Role":
            return f"{head}:iam::{self.account}:role/{self._name(target, 'RoleName')}"
        if kind == "AWS::Lambda::Function":
            name = self._name(target, "FunctionName")
            return f"{head}:lambda:{self.region}:{self.account}:function:{name}"
        if kind == "AWS::Events::Rule":
            bus = self.resolve(props.get("EventBusName", "default"))
            rule = self._name(target, "Name")
            path = rule if bus == "default" else f"{bus}/{rule}"  # a rule on a custom bus: rule/<bus>/<rule>
            return f"{head}:events:{self.region}:{self.account}:rule/{path}"
        if kind == "AWS::Events::EventBus":
            return f"{head}:events:{self.region}:{self.account}:event-bus/{self._name(target, 'Name')}"
        raise UnresolvedToken(f"cannot resolve {target}.Arn ({kind}) offline")
