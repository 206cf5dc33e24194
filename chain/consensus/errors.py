"""Typed errors of the QBFT core.

Remote errors (a peer or a block is wrong) and local errors (our configuration is
wrong) are different types, so the shell can score peers without parsing text.
"""

from __future__ import annotations

from chain.errors import ChainError


class ConsensusError(ChainError):
    """Base of every error raised by ``chain.consensus``."""


class RemoteError(ConsensusError):
    """Something received from the network or the shell is invalid."""


class InvalidSignature(RemoteError):
    """A signature is malformed or does not recover to a public key."""


class InvalidHeader(RemoteError):
    """A block header is not a well-formed Cancun header or breaks a QBFT header rule."""


class InvalidExtraData(InvalidHeader):
    """A header's extraData is not a well-formed QBFT extraData."""


class InvalidSeals(InvalidHeader):
    """A finalized header lacks a quorum of valid, distinct commit seals."""


class InvalidMessage(RemoteError):
    """A consensus message is malformed, oversized or unjustified."""


class LocalError(ConsensusError):
    """Our own inputs are wrong (a bad key, an unsorted validator set...)."""


class InvalidKey(LocalError):
    """A private key is not a valid secp256k1 scalar."""


class InvalidConfig(LocalError):
    """A QBFT configuration value is out of range."""


class InvalidChainHead(LocalError):
    """The chain head handed to the core is inconsistent."""
