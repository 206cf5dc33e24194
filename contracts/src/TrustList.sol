// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {DepartmentRegistry} from "./DepartmentRegistry.sol";

/// @title TrustList: the signing keys of each department, and its accreditations.
/// @notice Predeployed in genesis. The EU DCC gateway model (trust-formats.md): a
/// verifier accepts a signature if the issuing department's key with that kid is on
/// this list and valid at the signing time, and the department is accredited for
/// the license or attestation type.
///
/// - Keys are added and revoked by the department's own accounts (admin or
///   operator). A kid is never reused within a department, so a revoked key stays
///   revoked. The city administration can also revoke a key (e.g. of a removed
///   department, whose accounts are gone).
/// - Accreditations (department may issue type T) are granted and withdrawn by the
///   city administration multisig, to active departments with the ISSUER role.
///
/// kid: 8 bytes, by convention the first 8 bytes of SHA-256 of the key or
/// certificate (the COSE kid of the city code). Times are unix seconds; a key is
/// valid in [validFrom, validUntil) and, once revoked, before revokedAt only.
///
/// revokedAt is the time the revoker states, not the time of the revocation
/// transaction: a key found compromised is revoked from the stated compromise time
/// on, so signatures made with it after that time (and before the revocation was
/// recorded) are invalid too. A stated time may lie in the past (down to the key's
/// validFrom) but never in the future; 0 in a call means "now" (the block time).
contract TrustList {
    uint8 public constant ALG_ED25519 = 1;
    uint8 public constant ALG_ECDSA_P256 = 2;
    uint8 public constant ALG_ECDSA_SECP256K1 = 3;
    uint8 public constant ALG_SM2 = 4;
    // Revocation reasons are RFC 5280 CRLReason codes (0 unspecified, 1 key
    // compromise, 4 superseded, 5 cessation of operation, ...); 7 is unused there.
    uint8 private constant MAX_REASON = 10;

    struct Key {
        uint8 algorithm;
        uint64 validFrom;
        uint64 validUntil; // never 0 for a listed key: marks existence
        uint64 revokedAt; // 0: not revoked; else the stated revocation time
        uint8 revocationReason;
        bytes publicKey;
    }

    /// The CityAdministration multisig.
    address public immutable administration;
    DepartmentRegistry public immutable departments;

    mapping(bytes18 => mapping(bytes8 => Key)) private _keys;
    mapping(bytes18 => bytes8[]) private _kids;
    mapping(bytes18 => mapping(bytes32 => uint256)) private _accreditationPosition; // plus one
    mapping(bytes18 => bytes32[]) private _accreditations;

    event KeyAdded(
        bytes18 indexed department,
        bytes8 indexed kid,
        uint8 algorithm,
        bytes publicKey,
        uint64 validFrom,
        uint64 validUntil,
        address by
    );
    /// revokedAt: the stated revocation time (see above), not the block time.
    event KeyRevoked(
        bytes18 indexed department, bytes8 indexed kid, uint64 revokedAt, uint8 reason, address by
    );
    event AccreditationGranted(bytes18 indexed department, bytes32 indexed licenseType);
    event AccreditationWithdrawn(bytes18 indexed department, bytes32 indexed licenseType);

    modifier onlyAdministration() {
        require(msg.sender == administration, "TrustList: caller is not the city administration");
        _;
    }

    constructor(address administration_, DepartmentRegistry departments_) {
        require(administration_ != address(0), "TrustList: zero administration");
        require(address(departments_) != address(0), "TrustList: zero department registry");
        administration = administration_;
        departments = departments_;
    }

    // ---- Department actions ----

    /// @notice Lists a signing key of the caller's department.
    function addKey(
        bytes8 kid,
        uint8 algorithm,
        bytes calldata publicKey,
        uint64 validFrom,
        uint64 validUntil
    ) external {
        bytes18 department = _callerDepartment();
        require(kid != bytes8(0), "TrustList: zero kid");
        require(algorithm >= ALG_ED25519 && algorithm <= ALG_SM2, "TrustList: unknown algorithm");
        require(publicKey.length > 0, "TrustList: empty public key");
        require(
            algorithm != ALG_ED25519 || publicKey.length == 32,
            "TrustList: Ed25519 key must be 32 bytes"
        );
        require(validUntil > validFrom, "TrustList: validity window is empty");
        require(_keys[department][kid].validUntil == 0, "TrustList: kid already used");
        _keys[department][kid] = Key(algorithm, validFrom, validUntil, 0, 0, publicKey);
        _kids[department].push(kid);
        emit KeyAdded(department, kid, algorithm, publicKey, validFrom, validUntil, msg.sender);
    }

    /// @notice Revokes a key of the caller's department from `revokedAt` on.
    /// @param reason an RFC 5280 CRLReason code (1: key compromise, 4: superseded, ...).
    /// @param revokedAt the stated revocation time, e.g. the estimated compromise time:
    /// 0 for now (the block time); otherwise at most now and at least the key's validFrom.
    function revokeKey(bytes8 kid, uint8 reason, uint64 revokedAt) external {
        _revoke(_callerDepartment(), kid, reason, revokedAt);
    }

    // ---- City administration actions ----

    /// @notice Revokes a key of any department (e.g. one that was removed) from
    /// `revokedAt` on; `reason` and `revokedAt` as in revokeKey.
    function revokeKeyOf(bytes18 department, bytes8 kid, uint8 reason, uint64 revokedAt)
        external
        onlyAdministration
    {
        _revoke(department, kid, reason, revokedAt);
    }

    function grantAccreditation(bytes18 department, bytes32 licenseType)
        external
        onlyAdministration
    {
        require(licenseType != bytes32(0), "TrustList: zero license type");
        require(
            departments.hasRoles(department, departments.ROLE_ISSUER()),
            "TrustList: department is not an active issuer"
        );
        require(
            _accreditationPosition[department][licenseType] == 0,
            "TrustList: already accredited"
        );
        _accreditations[department].push(licenseType);
        _accreditationPosition[department][licenseType] = _accreditations[department].length;
        emit AccreditationGranted(department, licenseType);
    }

    function withdrawAccreditation(bytes18 department, bytes32 licenseType)
        external
        onlyAdministration
    {
        uint256 position = _accreditationPosition[department][licenseType];
        require(position != 0, "TrustList: not accredited");
        bytes32[] storage types = _accreditations[department];
        bytes32 last = types[types.length - 1];
        types[position - 1] = last;
        _accreditationPosition[department][last] = position;
        types.pop();
        delete _accreditationPosition[department][licenseType];
        emit AccreditationWithdrawn(department, licenseType);
    }

    // ---- Views (for verifiers) ----

    function getKey(bytes18 department, bytes8 kid)
        external
        view
        returns (
            uint8 algorithm,
            bytes memory publicKey,
            uint64 validFrom,
            uint64 validUntil,
            uint64 revokedAt,
            uint8 revocationReason
        )
    {
        Key storage key = _keys[department][kid];
        require(key.validUntil != 0, "TrustList: unknown key");
        return (
            key.algorithm,
            key.publicKey,
            key.validFrom,
            key.validUntil,
            key.revokedAt,
            key.revocationReason
        );
    }

    /// @notice Every kid the department ever listed, revoked ones included, in order.
    function keysOf(bytes18 department) external view returns (bytes8[] memory) {
        return _kids[department];
    }

    /// @notice Whether the key was valid (in its window, not yet revoked) at `time`.
    function isKeyValid(bytes18 department, bytes8 kid, uint64 time)
        external
        view
        returns (bool)
    {
        Key storage key = _keys[department][kid];
        return key.validUntil != 0 && key.validFrom <= time && time < key.validUntil
            && (key.revokedAt == 0 || time < key.revokedAt);
    }

    /// @notice Whether the department, active now, is accredited for `licenseType`.
    function isAccredited(bytes18 department, bytes32 licenseType) external view returns (bool) {
        return _accreditationPosition[department][licenseType] != 0
            && departments.isActive(department);
    }

    function accreditationsOf(bytes18 department) external view returns (bytes32[] memory) {
        return _accreditations[department];
    }

    // ---- Internals ----

    function _callerDepartment() private view returns (bytes18 department) {
        department = departments.departmentOf(msg.sender);
        require(department != bytes18(0), "TrustList: caller is not a department account");
    }

    function _revoke(bytes18 department, bytes8 kid, uint8 reason, uint64 revokedAt) private {
        Key storage key = _keys[department][kid];
        require(key.validUntil != 0, "TrustList: unknown key");
        require(key.revokedAt == 0, "TrustList: key already revoked");
        require(reason <= MAX_REASON && reason != 7, "TrustList: unknown revocation reason");
        if (revokedAt == 0) {
            // Now; for a key whose window has not opened yet, that makes it never valid.
            revokedAt = uint64(block.timestamp);
        } else {
            require(revokedAt <= block.timestamp, "TrustList: revocation time is in the future");
            require(
                revokedAt >= key.validFrom, "TrustList: revocation time before the key's validity"
            );
        }
        key.revokedAt = revokedAt;
        key.revocationReason = reason;
        emit KeyRevoked(department, kid, key.revokedAt, reason, msg.sender);
    }
}
