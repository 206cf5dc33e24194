"""How much one client may ask of the RPC server at once."""

from __future__ import annotations

from dataclasses import dataclass, fields

MIB = 1024 * 1024


@dataclass(frozen=True)
class RpcLimits:
    max_request_bytes: int = 5 * MIB  # one HTTP body
    max_batch_length: int = 100  # requests in one batch
    max_ws_message_bytes: int = 5 * MIB  # one WebSocket message; larger ones close the socket
    max_logs_results: int = 10_000  # logs in one eth_getLogs / eth_getFilterLogs answer
    max_fee_history_blocks: int = 1024  # eth_feeHistory blockCount is capped to this
    max_filters: int = 10_000  # installed filters, all clients together
    max_filter_backlog: int = 10_000  # changes a filter holds between two polls
    max_subscriptions_per_connection: int = 1_000
    max_ws_pending_messages: int = 10_000  # queued outgoing messages; slower readers are dropped
    filter_timeout_seconds: float = 300.0  # filters not polled for this long are removed

    def __post_init__(self) -> None:
        for limit in fields(self):
            if getattr(self, limit.name) <= 0:
                raise ValueError(f"RpcLimits.{limit.name} must be positive")
