"""Validator votes through real blocks: the set changes, survives reopening, and imports."""

from __future__ import annotations

from pathlib import Path

import pytest

from chain.consensus import block_encoding as qbft
from chain.consensus.crypto import sign
from chain.devnet import ROLE_CITY_ADMIN, address_of, dev_private_key, make_genesis, node_id_of
from chain.errors import InvalidBlock
from chain.genesis import QbftParams
from chain.node.chain import Chain
from chain.storage.lmdb_store import LmdbStore

KEYS = [dev_private_key(f"vote-test:{i}") for i in range(5)]
ADDRESSES = [address_of(k) for k in KEYS]
NEWCOMER = ADDRESSES[4]


def _genesis(epoch: int = 30_000):
    admin = dev_private_key("vote-test:admin")
    return make_genesis(
        chain_id=777, validators=ADDRESSES[:4], admins=[address_of(admin)],
        roles={address_of(admin): ROLE_CITY_ADMIN}, node_ids=[node_id_of(k) for k in KEYS], balances={},
        qbft=QbftParams(block_period=1, empty_block_period=1, epoch_length=epoch),
    )


def _key_of(address: bytes) -> bytes:
    return KEYS[ADDRESSES.index(address)]


def _next_block(chain: Chain, votes: dict[bytes, bool] | None = None) -> tuple[bytes, object]:
    validators = chain.validators_after(chain.head)
    proposer = qbft.proposer_for_round(validators, bytes(chain.head.coinbase), 0, chain.head_number + 1)
    chain.proposed_votes = dict(votes or {})
    built = chain.build_block([], coinbase=proposer, timestamp=chain.head.timestamp + 1, round_number=0)
    digest = qbft.commit_seal_hash(built.header_rlp)
    sealers = sorted(validators)[: qbft.quorum(len(validators))]
    final = qbft.with_round_and_seals(built.header_rlp, 0, [sign(_key_of(a), digest) for a in sealers])
    return final, built.outcome


def test_votes_of_more_than_half_add_a_validator_and_every_node_agrees(tmp_path: Path) -> None:
    spec = _genesis()
    chain = Chain(LmdbStore(tmp_path / "a"), spec)
    importer = Chain(LmdbStore(tmp_path / "b"), spec)
    voted_by: list[bytes] = []
    while chain.validators_after(chain.head) == tuple(sorted(ADDRESSES[:4])):
        assert chain.head_number < 12, "the vote never took effect"
        final, outcome = _next_block(chain, {NEWCOMER: True})
        extra = qbft.header_fields(final).extra
        if extra.vote is not None:
            voted_by.append(qbft.header_fields(final).coinbase)
        chain.commit(final, outcome)
        importer.import_block(final, [], now=None)
    assert len(set(voted_by)) == 3  # > 50% of 4
    assert chain.validators_after(chain.head) == tuple(sorted(ADDRESSES))
    assert importer.validators_after(importer.head) == tuple(sorted(ADDRESSES))
    # The next block lists five validators and needs quorum(5) = 4 seals.
    final, outcome = _next_block(chain)
    assert len(qbft.header_fields(final).extra.validators) == 5
    assert len(qbft.header_fields(final).extra.seals) == 4
    importer.import_block(final, [], now=None)
    chain.commit(final, outcome)
    # A node reopened with empty caches folds the votes again to the same set.
    chain.store.close()
    reopened = Chain(LmdbStore(tmp_path / "a"), spec)
    assert reopened.validators_after(reopened.head) == tuple(sorted(ADDRESSES))


def test_a_block_listing_the_wrong_validators_is_refused(tmp_path: Path) -> None:
    spec = _genesis()
    chain = Chain(LmdbStore(tmp_path / "a"), spec)
    importer = Chain(LmdbStore(tmp_path / "b"), spec)
    final, _ = _next_block(chain)
    fields = qbft.decode_header(final)
    forged = qbft.QbftExtraData(bytes(32), tuple(sorted(ADDRESSES)), None, 0, ()).encode()
    import rlp

    fields[12] = forged
    with pytest.raises(InvalidBlock, match="validators differ"):
        importer.import_block(rlp.encode(fields), [], now=None)


def test_epoch_blocks_reset_pending_votes(tmp_path: Path) -> None:
    chain = Chain(LmdbStore(tmp_path), _genesis(epoch=4))
    for _ in range(2):  # blocks 1 and 2, two different proposers vote for the newcomer
        final, outcome = _next_block(chain, {NEWCOMER: True})
        chain.commit(final, outcome)
    assert len(chain.tally_after(chain.head).votes) == 2
    while chain.head_number < 4:  # block 3 without a vote, block 4 is the epoch block
        final, outcome = _next_block(chain)
        chain.commit(final, outcome)
    assert qbft.header_fields(chain.store.header_rlp(chain.head_hash)).extra.vote is None
    assert chain.tally_after(chain.head).votes == {}
    assert chain.validators_after(chain.head) == tuple(sorted(ADDRESSES[:4]))
