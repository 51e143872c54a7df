"""Prometheus Alertmanager peers: a cluster gossiping on loopback, run with the repository's config.

Alertmanager does not expand environment variables in its config, so the
peers run a copy of ``alertmanager/alertmanager.yml`` written to the state
folder with the receiver's webhook URL (and, for tests, the route timings)
replaced.

>>> import tempfile
>>> from pathlib import Path
>>> state = Path(tempfile.mkdtemp())
>>> peers = alertmanager_peers(Path("/repo"), state, [(9093, 9094), (9095, 9096)], config=state / "am.yml")
>>> [peer.name for peer in peers]
['alertmanager-1', 'alertmanager-2']
>>> [arg for arg in peers[0].argv if arg.startswith("--cluster.peer=")]
['--cluster.peer=127.0.0.1:9096']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from heritage_otel.stack.components import ComponentSpec
from heritage_otel.stack.ports import HOST

__all__ = ["ALERTMANAGER_BINARY", "ALERTMANAGER_CONFIG", "alertmanager_peers", "render_config"]

ALERTMANAGER_BINARY = Path("/usr/bin/prometheus-alertmanager")
#: The example config, relative to the repository.
ALERTMANAGER_CONFIG = Path("alertmanager") / "alertmanager.yml"
_TIMINGS = ("group_wait", "group_interval", "repeat_interval")


def render_config(
    template: Path, out: Path, *, webhook_url: str | None = None, timings: Mapping[str, str] | None = None
) -> Path:
    """Write ``template`` to ``out`` with every webhook URL set to ``webhook_url`` and the route ``timings``.

    ``timings`` may hold ``group_wait``, ``group_interval`` and ``repeat_interval``
    (Alertmanager durations such as ``"1s"``).
    """
    config: dict[str, Any] = yaml.safe_load(template.read_text(encoding="utf-8"))
    unknown = sorted(set(timings or {}) - set(_TIMINGS))
    if unknown:
        msg = f"timings {unknown} are not valid; expected some of {list(_TIMINGS)}"
        raise ValueError(msg)
    config["route"].update(timings or {})
    if webhook_url is not None:
        for receiver in config.get("receivers", []):
            for hook in receiver.get("webhook_configs", []):
                hook["url"] = webhook_url
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return out


def alertmanager_peers(
    repo: Path,
    state_dir: Path,
    ports: Sequence[tuple[int, int]],
    *,
    config: Path,
    peer_timeout: str = "15s",
    binary: Path = ALERTMANAGER_BINARY,
) -> list[ComponentSpec]:
    """One peer per ``(web port, cluster port)``, each told about all the others (``--cluster.peer``).

    ``peer_timeout`` is how long a peer waits for the peers before it in the
    cluster to notify before it notifies itself (Alertmanager's default is 15s).
    """
    peers = []
    for index, (web, cluster) in enumerate(ports):
        name = f"alertmanager-{index + 1}"
        others = [f"--cluster.peer={HOST}:{other}" for i, (_w, other) in enumerate(ports) if i != index]
        args = (
            f"--config.file={config}",
            f"--storage.path={state_dir / name}",
            f"--web.listen-address={HOST}:{web}",
            f"--cluster.listen-address={HOST}:{cluster}",
            f"--cluster.advertise-address={HOST}:{cluster}",
            f"--cluster.peer-timeout={peer_timeout}",
            *others,
        )
        peers.append(ComponentSpec(
            name=name, binary=binary, build_script=repo / "scripts" / "deps" / "alertmanager.sh", config=config,
            health_url=f"http://{HOST}:{web}/-/ready", ports={"web": web, "cluster": cluster}, args=args,
        ))
    return peers
