"""Would the NetworkPolicies let a connection through? Selectors, peers, ports, isolation.

Models (https://kubernetes.io/docs/concepts/services-networking/network-policies/):
- isolation: a pod selected by any policy whose ``policyTypes`` include Ingress (Egress) is
  isolated for that direction; ``policyTypes`` defaults to Ingress, plus Egress when the policy
  has an ``egress`` section. A connection needs the source's egress and the destination's
  ingress allowed; a non-isolated direction allows everything;
- allowed if any rule of any selecting policy allows it (policies add up, nothing denies);
- peers: ``podSelector`` alone (pods of the policy's namespace), ``namespaceSelector`` alone
  (every pod of the matching namespaces), both in one peer (matching pods in matching
  namespaces), ``ipBlock`` (``cidr`` less ``except``) for addresses outside the cluster; an
  absent or empty ``from``/``to`` list allows every peer; label selectors with ``matchLabels``
  and ``matchExpressions`` (In, NotIn, Exists, DoesNotExist); an empty selector selects all;
- ports: absent or empty allows every port; ``port`` as a number (with ``endPort`` ranges) or
  a name resolved against the destination pod's container ports; ``protocol`` defaults to TCP;
- namespaces carry ``kubernetes.io/metadata.name`` besides their rendered labels.

Not modelled: ipBlock matching of pod IPs (Cilium, the AKS and GKE Dataplane V2 data plane,
matches pods by identity, not by ipBlock), Services and kube-proxy translation, host-network
pods, SCTP, AdminNetworkPolicy and CiliumNetworkPolicy, DNS resolution.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

Doc = dict[str, Any]


@dataclass(frozen=True)
class Endpoint:
    """A pod (namespace and labels, its container ports) or an address outside the cluster."""

    name: str
    namespace: str | None = None  # None: outside the cluster
    labels: Mapping[str, str] = field(default_factory=dict)
    ports: tuple[tuple[str, int, str], ...] = ()  # (name, number, protocol)
    ip: str = ""

    @property
    def external(self) -> bool:
        return self.namespace is None


def selects(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """A label selector (None selects nothing, ``{}`` selects everything)."""
    if selector is None:
        return False
    if not all(labels.get(k) == str(v) for k, v in selector.get("matchLabels", {}).items()):
        return False
    return all(_expression(e, labels) for e in selector.get("matchExpressions", []))


def _expression(e: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    present, values = e["key"] in labels, e.get("values", [])
    return {
        "In": present and labels.get(e["key"]) in values,
        "NotIn": not present or labels.get(e["key"]) not in values,
        "Exists": present,
        "DoesNotExist": not present,
    }[e["operator"]]


def policy_types(policy: Doc) -> list[str]:
    spec = policy["spec"]
    return spec.get("policyTypes") or ["Ingress", *(["Egress"] if "egress" in spec else [])]


def _selecting(policies: Iterable[Doc], pod: Endpoint, direction: str) -> list[Doc]:
    return [
        p
        for p in policies
        if pod.namespace == p["metadata"].get("namespace")
        and direction in policy_types(p)
        and selects(p["spec"].get("podSelector", {}), pod.labels)
    ]


def _peer(
    peer: Mapping[str, Any],
    other: Endpoint,
    policy_ns: str,
    namespaces: Mapping[str, Mapping[str, str]],
) -> bool:
    if "ipBlock" in peer:
        if not other.external:
            return False
        block, address = peer["ipBlock"], ipaddress.ip_address(other.ip)
        inside = address in ipaddress.ip_network(block["cidr"])
        return inside and not any(
            address in ipaddress.ip_network(x) for x in block.get("except", [])
        )
    if other.external:
        return False
    ns_selector = peer.get("namespaceSelector")
    if ns_selector is None:
        ns_ok = other.namespace == policy_ns
    else:
        ns_ok = selects(ns_selector, _ns_labels(other.namespace or "", namespaces))
    return ns_ok and selects(peer.get("podSelector", {}), other.labels)


def _ns_labels(name: str, namespaces: Mapping[str, Mapping[str, str]]) -> dict[str, str]:
    return {**namespaces.get(name, {}), "kubernetes.io/metadata.name": name}


def _port(entry: Mapping[str, Any], dst: Endpoint, port: int, protocol: str) -> bool:
    if entry.get("protocol", "TCP") != protocol:
        return False
    wanted = entry.get("port")
    if wanted is None:
        return True
    if isinstance(wanted, str) and not wanted.isdigit():
        return any(n == wanted and p == port and pr == protocol for n, p, pr in dst.ports)
    return int(wanted) <= port <= int(entry.get("endPort", wanted))


def _rules_allow(
    rules: Sequence[Doc],
    peer_key: str,
    other: Endpoint,
    dst: Endpoint,
    port: int,
    protocol: str,
    policy_ns: str,
    namespaces: Mapping[str, Mapping[str, str]],
) -> bool:
    for rule in rules:
        peers = rule.get(peer_key) or []
        ports = rule.get("ports") or []
        peer_ok = not peers or any(_peer(p, other, policy_ns, namespaces) for p in peers)
        port_ok = not ports or any(_port(p, dst, port, protocol) for p in ports)
        if peer_ok and port_ok:
            return True
    return False


def _direction(
    policies: list[Doc],
    pod: Endpoint,
    other: Endpoint,
    dst: Endpoint,
    port: int,
    protocol: str,
    direction: str,
    namespaces: Mapping[str, Mapping[str, str]],
) -> bool:
    selecting = _selecting(policies, pod, direction)
    if not selecting:
        return True
    key, peer_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    return any(
        _rules_allow(
            p["spec"].get(key) or [],
            peer_key,
            other,
            dst,
            port,
            protocol,
            p["metadata"]["namespace"],
            namespaces,
        )
        for p in selecting
    )


def allowed(
    policies: Iterable[Doc],
    src: Endpoint,
    dst: Endpoint,
    port: int,
    protocol: str = "TCP",
    namespaces: Mapping[str, Mapping[str, str]] | None = None,
) -> bool:
    """Whether ``src`` may open a connection to ``dst`` on ``port``."""
    found = [p for p in policies if p.get("kind") == "NetworkPolicy"]
    ns = namespaces or {}
    egress = src.external or _direction(found, src, dst, dst, port, protocol, "Egress", ns)
    ingress = dst.external or _direction(found, dst, src, dst, port, protocol, "Ingress", ns)
    return egress and ingress
