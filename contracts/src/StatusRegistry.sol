// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {DepartmentRegistry} from "./DepartmentRegistry.sol";

/// @title StatusRegistry: the latest digest of each revocation/suspension status list.
/// @notice Predeployed in genesis. A W3C Bitstring Status List credential is served
/// off chain; its digest is published here so a verifier can tell whether the copy
/// it holds is the latest one. The first publication of a list id claims the list
/// for the publishing department (which must be an active ISSUER); from then on only
/// that department's accounts publish it, each time with a larger version. Earlier
/// publications remain in the StatusListPublished events.
///
/// listId: e.g. SHA-256 of the status list credential's URL.
/// digest: e.g. SHA-256 of the status list credential as served.
contract StatusRegistry {
    struct StatusList {
        bytes18 department; // bytes18(0): never published
        uint64 version;
        uint64 publishedAt;
        bytes32 digest;
    }

    DepartmentRegistry public immutable departments;

    mapping(bytes32 => StatusList) private _lists;
    mapping(bytes18 => bytes32[]) private _listsOf;

    event StatusListPublished(
        bytes32 indexed listId,
        bytes18 indexed department,
        uint64 version,
        bytes32 digest,
        address by
    );

    constructor(DepartmentRegistry departments_) {
        require(address(departments_) != address(0), "StatusRegistry: zero department registry");
        departments = departments_;
    }

    /// @notice Publishes version `version` of `listId`, whose content hashes to `digest`.
    function publish(bytes32 listId, bytes32 digest, uint64 version) external {
        bytes18 department = departments.departmentOf(msg.sender);
        require(department != bytes18(0), "StatusRegistry: caller is not a department account");
        require(listId != bytes32(0), "StatusRegistry: zero list id");
        require(digest != bytes32(0), "StatusRegistry: zero digest");
        StatusList storage list = _lists[listId];
        if (list.department == bytes18(0)) {
            require(
                departments.hasRoles(department, departments.ROLE_ISSUER()),
                "StatusRegistry: caller's department is not an issuer"
            );
            list.department = department;
            _listsOf[department].push(listId);
        } else {
            require(
                list.department == department, "StatusRegistry: list belongs to another department"
            );
        }
        require(version > list.version, "StatusRegistry: version must increase");
        list.version = version;
        list.publishedAt = uint64(block.timestamp);
        list.digest = digest;
        emit StatusListPublished(listId, department, version, digest, msg.sender);
    }

    /// @notice The latest publication of `listId`; all zero if it was never published.
    function latest(bytes32 listId)
        external
        view
        returns (bytes18 department, bytes32 digest, uint64 version, uint64 publishedAt)
    {
        StatusList storage list = _lists[listId];
        return (list.department, list.digest, list.version, list.publishedAt);
    }

    /// @notice The list ids `department` owns, in the order it first published them.
    function listsOf(bytes18 department) external view returns (bytes32[] memory) {
        return _listsOf[department];
    }
}
