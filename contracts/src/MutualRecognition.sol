// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {DepartmentRegistry} from "./DepartmentRegistry.sol";

/// @title MutualRecognition: which issuers' licenses each department accepts.
/// @notice Predeployed in genesis. Mutual recognition is data, not code
/// (trust-formats.md): department B's accounts declare that B accepts licenses of
/// type T issued by department A during [validFrom, validUntil), and may withdraw
/// that from a moment on. Declaring again replaces the window and clears a
/// withdrawal. Whether A may issue T at all is TrustList.isAccredited.
contract MutualRecognition {
    struct Recognition {
        uint64 validFrom;
        uint64 validUntil; // never 0 for a declared recognition: marks existence
        uint64 withdrawnAt; // 0: not withdrawn
    }

    DepartmentRegistry public immutable departments;

    // verifier department => issuer department => license type => recognition
    mapping(bytes18 => mapping(bytes18 => mapping(bytes32 => Recognition))) private
        _recognitions;
    // Every (issuer, type) pair a verifier ever declared, as two parallel lists.
    mapping(bytes18 => bytes18[]) private _issuers;
    mapping(bytes18 => bytes32[]) private _types;

    event Recognized(
        bytes18 indexed verifier,
        bytes18 indexed issuer,
        bytes32 indexed licenseType,
        uint64 validFrom,
        uint64 validUntil,
        address by
    );
    event RecognitionWithdrawn(
        bytes18 indexed verifier,
        bytes18 indexed issuer,
        bytes32 indexed licenseType,
        uint64 withdrawnAt,
        address by
    );

    constructor(DepartmentRegistry departments_) {
        require(
            address(departments_) != address(0), "MutualRecognition: zero department registry"
        );
        departments = departments_;
    }

    // ---- Department actions ----

    /// @notice The caller's department accepts `licenseType` from `issuer` in the window.
    function recognize(bytes18 issuer, bytes32 licenseType, uint64 validFrom, uint64 validUntil)
        external
    {
        bytes18 verifier = _callerDepartment();
        require(departments.isActive(issuer), "MutualRecognition: issuer is not an active department");
        require(licenseType != bytes32(0), "MutualRecognition: zero license type");
        require(validUntil > validFrom, "MutualRecognition: validity window is empty");
        Recognition storage recognition = _recognitions[verifier][issuer][licenseType];
        if (recognition.validUntil == 0) {
            _issuers[verifier].push(issuer);
            _types[verifier].push(licenseType);
        }
        recognition.validFrom = validFrom;
        recognition.validUntil = validUntil;
        recognition.withdrawnAt = 0;
        emit Recognized(verifier, issuer, licenseType, validFrom, validUntil, msg.sender);
    }

    /// @notice The caller's department stops accepting `licenseType` from `issuer` now.
    function withdraw(bytes18 issuer, bytes32 licenseType) external {
        bytes18 verifier = _callerDepartment();
        Recognition storage recognition = _recognitions[verifier][issuer][licenseType];
        require(recognition.validUntil != 0, "MutualRecognition: not recognized");
        require(recognition.withdrawnAt == 0, "MutualRecognition: already withdrawn");
        recognition.withdrawnAt = uint64(block.timestamp);
        emit RecognitionWithdrawn(
            verifier, issuer, licenseType, recognition.withdrawnAt, msg.sender
        );
    }

    // ---- Views ----

    /// @notice Whether `verifier` accepted `licenseType` from `issuer` at `time`.
    function isRecognized(bytes18 verifier, bytes18 issuer, bytes32 licenseType, uint64 time)
        external
        view
        returns (bool)
    {
        Recognition storage r = _recognitions[verifier][issuer][licenseType];
        return r.validUntil != 0 && r.validFrom <= time && time < r.validUntil
            && (r.withdrawnAt == 0 || time < r.withdrawnAt);
    }

    function recognitionOf(bytes18 verifier, bytes18 issuer, bytes32 licenseType)
        external
        view
        returns (uint64 validFrom, uint64 validUntil, uint64 withdrawnAt)
    {
        Recognition storage r = _recognitions[verifier][issuer][licenseType];
        return (r.validFrom, r.validUntil, r.withdrawnAt);
    }

    /// @notice Every (issuer, type) pair `verifier` ever declared, withdrawn ones too.
    function recognitionsOf(bytes18 verifier)
        external
        view
        returns (bytes18[] memory issuers, bytes32[] memory licenseTypes)
    {
        return (_issuers[verifier], _types[verifier]);
    }

    // ---- Internals ----

    function _callerDepartment() private view returns (bytes18 department) {
        department = departments.departmentOf(msg.sender);
        require(
            department != bytes18(0), "MutualRecognition: caller is not a department account"
        );
    }
}
