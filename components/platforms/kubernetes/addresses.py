"""Which addresses an egress destination may have, as NetworkPolicy ipBlocks with their excepts.

A destination the operator gave no addresses for is open anywhere on its ports, except where no
outside service lives: link-local addresses (169.254.0.0/16 and fe80::/10, which hold the cloud
metadata endpoint 169.254.169.254) and AWS's IPv6 metadata endpoint. A public destination (the
internet) also excludes `kubernetes.clusterNetworks`: the cluster's pod and service ranges and the
site's private networks, which on Calico an ipBlock would otherwise reach.

An except only takes out a range strictly inside a block (the API refuses any other), so an
operator who names an address inside an excluded range (`egress.internet: [10.0.5.10/32]`, or the
metadata endpoint itself) reaches it: that is how they say otherwise.
"""

from __future__ import annotations

import ipaddress
from typing import Any, Iterable, Optional, Sequence

from components.platforms.kubernetes.settings import EVERYWHERE, KubernetesSettings

# Where no destination outside the cluster lives. Sources: RFC 3927 and RFC 4291 (link-local);
# 169.254.169.254 is the metadata endpoint of AWS, GCP and Azure; fd00:ec2::254 is EC2's IPv6
# instance metadata endpoint (AWS SDKs' IMDS endpoint table).
LINK_LOCAL = ("169.254.0.0/16", "fe80::/10")
METADATA_V6 = ("fd00:ec2::254/128",)


def excluded(settings: KubernetesSettings, public: bool) -> tuple[str, ...]:
    """The ranges a destination without addresses of its own may not reach."""
    return (*LINK_LOCAL, *METADATA_V6, *(settings.cluster_networks if public else ()))


def destination(settings: KubernetesSettings, name: str, public: bool) -> Optional[list[dict[str, Any]]]:
    """The ipBlock peers of destination `name`; None when the operator closed it (`egress.<name>: []`)."""
    cidrs = settings.egress.get(name, EVERYWHERE)
    if not cidrs:
        return None
    return ip_blocks(cidrs, excluded(settings, public))


def ip_blocks(cidrs: Iterable[str], excepted: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Each CIDR as an ipBlock peer, with the `excepted` ranges that lie strictly inside it."""
    peers = []
    for cidr in cidrs:
        block = ipaddress.ip_network(cidr)
        inside = _outermost([e for e in map(ipaddress.ip_network, excepted)
                             if e.version == block.version and e != block and e.subnet_of(block)])
        peer: dict[str, Any] = {"cidr": str(block)}
        if inside:
            peer["except_"] = [str(e) for e in inside]
        peers.append({"ip_block": peer})
    return peers


def _outermost(networks):
    """The networks not inside another of them, in address order (no except inside an except)."""
    unique = sorted(set(networks), key=lambda n: (n.network_address, n.prefixlen))
    return [n for n in unique if not any(o != n and n.subnet_of(o) for o in unique)]
