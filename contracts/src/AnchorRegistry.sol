// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

import {DepartmentRegistry} from "./DepartmentRegistry.sol";

/// @title AnchorRegistry: signed checkpoints of tamper-evident logs, anchored on chain.
/// @notice Predeployed in genesis. Each log (RFC 9162 tree, C2SP checkpoints; see
/// merkle.md) has an owner: the department whose account anchored it first, or the
/// platform, when the platform operator account (set by the city administration
/// multisig) anchored it first. Only the owner anchors further checkpoints, and a
/// checkpoint's tree size must be larger than the last anchored one: an anchored log
/// only grows. (That the roots are consistent is checked off chain, with the
/// consistency proof between consecutive anchors.) The chain records the block time
/// and number of each anchor.
///
/// logId: e.g. SHA-256 of the checkpoint origin line.
/// keyId: id of the key that signed the checkpoint, e.g. the 4-byte C2SP note key
///        id left-aligned, or the signing department's TrustList kid.
/// cosignatures: how many witness cosignatures the anchoring party collected and
///        checked off chain (0 if none).
contract AnchorRegistry {
    struct Owner {
        bool claimed;
        bool platform;
        bytes18 department; // bytes18(0) for the platform
    }

    struct Checkpoint {
        uint64 size;
        uint64 anchoredAt;
        uint64 blockNumber;
        bytes8 keyId;
        uint16 cosignatures;
        bytes32 root;
    }

    /// The CityAdministration multisig.
    address public immutable administration;
    DepartmentRegistry public immutable departments;

    address private _operator;
    mapping(bytes32 => Owner) private _owners;
    mapping(bytes32 => Checkpoint[]) private _checkpoints;

    event OperatorChanged(address indexed previousOperator, address indexed newOperator);
    event LogClaimed(bytes32 indexed logId, bool platform, bytes18 department, address by);
    event Anchored(
        bytes32 indexed logId,
        uint256 index,
        uint64 size,
        bytes32 root,
        bytes8 keyId,
        uint16 cosignatures,
        address indexed by
    );

    modifier onlyAdministration() {
        require(
            msg.sender == administration, "AnchorRegistry: caller is not the city administration"
        );
        _;
    }

    /// @param operator_ the platform operator account; address(0) for none yet.
    constructor(address administration_, DepartmentRegistry departments_, address operator_) {
        require(administration_ != address(0), "AnchorRegistry: zero administration");
        require(address(departments_) != address(0), "AnchorRegistry: zero department registry");
        administration = administration_;
        departments = departments_;
        if (operator_ != address(0)) _setOperator(operator_);
    }

    // ---- City administration actions ----

    /// @notice Sets the platform operator account; address(0) leaves the platform without one.
    function setOperator(address newOperator) external onlyAdministration {
        _setOperator(newOperator);
    }

    // ---- Log owner actions ----

    /// @notice Anchors a checkpoint of `logId`; the first anchor claims the log.
    function anchor(
        bytes32 logId,
        uint64 size,
        bytes32 root,
        bytes8 keyId,
        uint16 cosignatures
    ) external {
        bool isOperator = msg.sender == _operator && _operator != address(0);
        bytes18 department = isOperator ? bytes18(0) : departments.departmentOf(msg.sender);
        require(
            isOperator || department != bytes18(0),
            "AnchorRegistry: caller is neither a department account nor the platform operator"
        );
        require(logId != bytes32(0), "AnchorRegistry: zero log id");
        require(root != bytes32(0), "AnchorRegistry: zero root");
        Owner storage owner = _owners[logId];
        if (!owner.claimed) {
            _owners[logId] = Owner(true, isOperator, department);
            emit LogClaimed(logId, isOperator, department, msg.sender);
        } else {
            require(
                owner.platform == isOperator && owner.department == department,
                "AnchorRegistry: log belongs to another owner"
            );
        }
        Checkpoint[] storage checkpoints = _checkpoints[logId];
        uint64 lastSize = checkpoints.length == 0 ? 0 : checkpoints[checkpoints.length - 1].size;
        require(size > lastSize, "AnchorRegistry: size must grow");
        checkpoints.push(
            Checkpoint(
                size, uint64(block.timestamp), uint64(block.number), keyId, cosignatures, root
            )
        );
        emit Anchored(logId, checkpoints.length - 1, size, root, keyId, cosignatures, msg.sender);
    }

    // ---- Views ----

    function operator() external view returns (address) {
        return _operator;
    }

    /// @notice Who owns `logId`; claimed is false while nobody anchored it.
    function ownerOf(bytes32 logId)
        external
        view
        returns (bool claimed, bool platform, bytes18 department)
    {
        Owner storage owner = _owners[logId];
        return (owner.claimed, owner.platform, owner.department);
    }

    /// @notice The last anchored checkpoint of `logId`; all zero if none.
    function latest(bytes32 logId)
        external
        view
        returns (
            uint64 size,
            bytes32 root,
            bytes8 keyId,
            uint16 cosignatures,
            uint64 anchoredAt,
            uint64 blockNumber
        )
    {
        Checkpoint[] storage checkpoints = _checkpoints[logId];
        if (checkpoints.length == 0) return (0, bytes32(0), bytes8(0), 0, 0, 0);
        return _unpack(checkpoints[checkpoints.length - 1]);
    }

    function anchorCount(bytes32 logId) external view returns (uint256) {
        return _checkpoints[logId].length;
    }

    /// @notice The `index`-th anchored checkpoint of `logId`, oldest first.
    function anchorAt(bytes32 logId, uint256 index)
        external
        view
        returns (
            uint64 size,
            bytes32 root,
            bytes8 keyId,
            uint16 cosignatures,
            uint64 anchoredAt,
            uint64 blockNumber
        )
    {
        require(index < _checkpoints[logId].length, "AnchorRegistry: no anchor at this index");
        return _unpack(_checkpoints[logId][index]);
    }

    // ---- Internals ----

    function _setOperator(address newOperator) private {
        address previous = _operator;
        require(newOperator != previous, "AnchorRegistry: operator unchanged");
        _operator = newOperator;
        emit OperatorChanged(previous, newOperator);
    }

    function _unpack(Checkpoint storage c)
        private
        view
        returns (uint64, bytes32, bytes8, uint16, uint64, uint64)
    {
        return (c.size, c.root, c.keyId, c.cosignatures, c.anchoredAt, c.blockNumber);
    }
}
