"""Governance and onboarding transactions of the trust contracts, for ``TrustChain``.

Used by tests, the dev bootstrap and demos: admitting a department, its roles and
accreditations go through the CityAdministration multisig (propose, approve, execute
with as many admin keys as its threshold); operators, recognitions and the
Permissioning allowlist are direct transactions of the account allowed to make them.

This module does not import web3: the contract objects and the transaction plumbing
come from ``trust_api.chain_client.TrustChain``, which is this class plus them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from eth_utils import keccak, to_checksum_address

# Topic 0 of CityAdministration.Proposed; topic 1 is the proposal id.
_PROPOSED = keccak(text="Proposed(uint256,address,address,bytes)")

Address = bytes | str  # 20 bytes or a 0x-prefixed hex string


def usci_bytes(usci: str) -> bytes:
    """A USCI as the contracts' bytes18: its 18 ASCII characters."""
    raw = usci.encode("ascii")
    if len(raw) != 18:
        raise ValueError(f"a USCI has 18 characters, {usci!r} has {len(raw)}")
    return raw


def type_bytes32(code: str) -> bytes:
    """A license or attestation type code as bytes32: ASCII, left-aligned, zero-padded."""
    raw = code.encode("ascii")
    if not 0 < len(raw) <= 32 or b"\0" in raw:
        raise ValueError(f"a type code is 1 to 32 ASCII characters without NUL, not {code!r}")
    return raw.ljust(32, b"\0")


def type_code(raw: bytes) -> str:
    return bytes(raw).rstrip(b"\0").decode("ascii")


class Onboarding:
    """Governance and onboarding helpers; the abstract methods are TrustChain's."""

    # ---- Provided by TrustChain ----

    def contract(self, name: str) -> Any:
        raise NotImplementedError

    def send(self, sender_key: bytes, call: Any, *, wait: bool = True) -> bytes:
        raise NotImplementedError

    def wait_for(self, tx_hashes: Iterable[bytes]) -> int:
        raise NotImplementedError

    def receipt(self, tx_hash: bytes) -> Any:
        raise NotImplementedError

    def _guard(self, action: Callable[[], Any]) -> Any:
        raise NotImplementedError

    # ---- The city administration multisig ----

    def govern(self, admin_keys: Sequence[bytes], target: str, function: str, *args: Any) -> bytes:
        """Has CityAdministration call ``target.function(*args)``: the first key proposes,
        the next ones approve up to the threshold, the first key executes. The call is
        simulated first, so a refusal raises ChainRejected before any proposal exists.
        Returns the hash of the execute transaction."""
        if not admin_keys:
            raise ValueError("govern needs at least one city administration admin key")
        administration = self.contract("CityAdministration")
        contract = self.contract(target)
        call = contract.functions[function](*args)
        self._guard(lambda: call.call({"from": administration.address}))
        threshold = int(self._guard(lambda: administration.functions.threshold().call()))
        if len(admin_keys) < threshold:
            raise ValueError(
                f"the city administration needs {threshold} approvals; "
                f"{len(admin_keys)} admin key(s) given")
        data = contract.encode_abi(function, list(args))
        proposed = self.receipt(
            self.send(admin_keys[0], administration.functions.propose(contract.address, data)))
        proposal = next(
            int.from_bytes(bytes(log["topics"][1]), "big") for log in proposed["logs"]
            if log["address"] == administration.address and bytes(log["topics"][0]) == _PROPOSED)
        self.wait_for([self.send(key, administration.functions.approve(proposal), wait=False)
                       for key in admin_keys[1:threshold]])
        return self.send(admin_keys[0], administration.functions.execute(proposal))

    def admit_department(self, admin_keys: Sequence[bytes], usci: str, name: str, roles: int,
                         admin_address: Address) -> bytes:
        return self.govern(admin_keys, "DepartmentRegistry", "admit", usci_bytes(usci), name,
                           roles, _checksum(admin_address))

    def remove_department(self, admin_keys: Sequence[bytes], usci: str) -> bytes:
        return self.govern(admin_keys, "DepartmentRegistry", "remove", usci_bytes(usci))

    def set_roles(self, admin_keys: Sequence[bytes], usci: str, roles: int) -> bytes:
        return self.govern(admin_keys, "DepartmentRegistry", "setRoles", usci_bytes(usci), roles)

    def grant_accreditation(self, admin_keys: Sequence[bytes], usci: str, code: str) -> bytes:
        return self.govern(admin_keys, "TrustList", "grantAccreditation", usci_bytes(usci),
                           type_bytes32(code))

    def withdraw_accreditation(self, admin_keys: Sequence[bytes], usci: str, code: str) -> bytes:
        return self.govern(admin_keys, "TrustList", "withdrawAccreditation", usci_bytes(usci),
                           type_bytes32(code))

    # ---- Direct transactions ----

    def set_account_role(self, city_admin_key: bytes, account: Address, role: int, *,
                         wait: bool = True) -> bytes:
        """Permissioning: a city admin lets ``account`` transact (role 2 department,
        3 service module, 1 city admin) or, with role 0, no longer."""
        call = self.contract("Permissioning").functions.setAccountRole(_checksum(account), role)
        return self.send(city_admin_key, call, wait=wait)

    def add_operator(self, dept_admin_key: bytes, account: Address, *, wait: bool = True) -> bytes:
        """The department admin adds an operator account (which must also be permitted)."""
        call = self.contract("DepartmentRegistry").functions.addOperator(_checksum(account))
        return self.send(dept_admin_key, call, wait=wait)

    def remove_operator(self, dept_admin_key: bytes, account: Address, *,
                        wait: bool = True) -> bytes:
        call = self.contract("DepartmentRegistry").functions.removeOperator(_checksum(account))
        return self.send(dept_admin_key, call, wait=wait)

    def recognize(self, dept_key: bytes, issuer_usci: str, code: str, valid_from: int,
                  valid_until: int, *, wait: bool = True) -> bytes:
        """The sender's department accepts ``code`` issued by ``issuer_usci`` in the window."""
        call = self.contract("MutualRecognition").functions.recognize(
            usci_bytes(issuer_usci), type_bytes32(code), valid_from, valid_until)
        return self.send(dept_key, call, wait=wait)

    def withdraw_recognition(self, dept_key: bytes, issuer_usci: str, code: str, *,
                             wait: bool = True) -> bytes:
        call = self.contract("MutualRecognition").functions.withdraw(
            usci_bytes(issuer_usci), type_bytes32(code))
        return self.send(dept_key, call, wait=wait)


def _checksum(address: Address) -> str:
    text = "0x" + address.hex() if isinstance(address, bytes) else address
    if len(text) != 42:
        raise ValueError(f"not a 20-byte address: {address!r}")
    return str(to_checksum_address(text))
