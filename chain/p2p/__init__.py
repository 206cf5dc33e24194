"""Peer-to-peer layer: mutual-TLS connections between consortium nodes.

- ``pki``: the consortium CA and node certificates (node id in a SAN URI);
- ``framing``: length-prefixed frames with per-type limits, sans-IO;
- ``messages``: the message types and their RLP payloads, pure;
- ``handshake``: CHALLENGE/HELLO proof of the secp256k1 node key, pure;
- ``gossip``: seen-message cache and redial backoff, pure;
- ``peer``: per-connection state, and which of two connections to one peer to keep;
- ``transport``: TLS 1.3 contexts, addresses, frames off an asyncio stream;
- ``host``: ``P2PHost``, the asyncio shell the node runs.

This package never imports py-evm: blocks, transactions and consensus messages
cross it as opaque bytes.
"""
