// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/// @title Permissioning: the on-chain allowlist of accounts and nodes of citychain.
/// @notice Predeployed in genesis. City admins decide which accounts may send
/// transactions (and in which role) and which nodes may join the network.
///
/// STORAGE LAYOUT: a contract with the node, which reads these slots directly
/// from state at a block's height instead of calling the contract. Do not
/// reorder, retype or insert state variables before the ones listed here.
///
///   slot 0  mapping(address => uint8) _accountRole
///           value at keccak256(pad32(account) ++ pad32(0)): the role in the
///           lowest byte, the rest of the word zero. 0 = not allowed.
///   slot 1  mapping(bytes32 => bool) _nodeAllowed
///           value at keccak256(nodeId ++ pad32(1)): 1 if allowed, else 0.
///           nodeId = keccak256(64-byte uncompressed secp256k1 public key,
///           without the 0x04 prefix).
///   slot 2  address[] _accounts              (enumeration only)
///   slot 3  mapping(address => uint256) _accountPosition
///   slot 4  bytes32[] _nodes                 (enumeration only)
///   slot 5  mapping(bytes32 => uint256) _nodePosition
///   slot 6  uint256 _adminCount
contract Permissioning {
    uint8 public constant ROLE_NONE = 0;
    uint8 public constant ROLE_CITY_ADMIN = 1;
    uint8 public constant ROLE_DEPARTMENT = 2;
    uint8 public constant ROLE_SERVICE_MODULE = 3;

    // Slots 0 and 1: read by the node, see the layout above.
    mapping(address => uint8) private _accountRole;
    mapping(bytes32 => bool) private _nodeAllowed;

    // Enumeration: positions are stored plus one so that 0 means "absent".
    address[] private _accounts;
    mapping(address => uint256) private _accountPosition;
    bytes32[] private _nodes;
    mapping(bytes32 => uint256) private _nodePosition;

    uint256 private _adminCount;

    event AccountRoleChanged(
        address indexed account, uint8 previousRole, uint8 newRole, address indexed by
    );
    event NodeAdded(bytes32 indexed nodeId, address indexed by);
    event NodeRemoved(bytes32 indexed nodeId, address indexed by);

    modifier onlyCityAdmin() {
        require(
            _accountRole[msg.sender] == ROLE_CITY_ADMIN,
            "Permissioning: caller is not a city admin"
        );
        _;
    }

    /// @param admins accounts that start as city admins; at least one.
    /// @param nodeIds nodes allowed from genesis on.
    constructor(address[] memory admins, bytes32[] memory nodeIds) {
        require(admins.length > 0, "Permissioning: at least one city admin required");
        for (uint256 i = 0; i < admins.length; i++) {
            require(
                _accountRole[admins[i]] == ROLE_NONE, "Permissioning: duplicate city admin"
            );
            _setAccountRole(admins[i], ROLE_CITY_ADMIN);
        }
        for (uint256 i = 0; i < nodeIds.length; i++) {
            _addNode(nodeIds[i]);
        }
    }

    // ---- City admin actions ----

    /// @notice Gives `account` a role; role 0 (ROLE_NONE) removes it from the allowlist.
    function setAccountRole(address account, uint8 role) external onlyCityAdmin {
        require(role <= ROLE_SERVICE_MODULE, "Permissioning: invalid role");
        uint8 previousRole = _accountRole[account];
        require(previousRole != role, "Permissioning: account already has this role");
        // The chain would be ungovernable without a city admin.
        require(
            previousRole != ROLE_CITY_ADMIN || _adminCount > 1,
            "Permissioning: cannot remove the last city admin"
        );
        _setAccountRole(account, role);
    }

    function addNode(bytes32 nodeId) external onlyCityAdmin {
        _addNode(nodeId);
    }

    function removeNode(bytes32 nodeId) external onlyCityAdmin {
        require(_nodeAllowed[nodeId], "Permissioning: node is not allowed");
        _nodeAllowed[nodeId] = false;
        _removeNodePosition(nodeId);
        emit NodeRemoved(nodeId, msg.sender);
    }

    // ---- Views ----

    function accountRole(address account) external view returns (uint8) {
        return _accountRole[account];
    }

    function isAccountAllowed(address account) external view returns (bool) {
        return _accountRole[account] != ROLE_NONE;
    }

    function isNodeAllowed(bytes32 nodeId) external view returns (bool) {
        return _nodeAllowed[nodeId];
    }

    /// @notice Every account with a role, in no particular order.
    function accounts() external view returns (address[] memory) {
        return _accounts;
    }

    /// @notice Every allowed node id, in no particular order.
    function nodes() external view returns (bytes32[] memory) {
        return _nodes;
    }

    function adminCount() external view returns (uint256) {
        return _adminCount;
    }

    // ---- Internals ----

    function _setAccountRole(address account, uint8 role) private {
        require(account != address(0), "Permissioning: zero address");
        uint8 previousRole = _accountRole[account];
        _accountRole[account] = role;

        if (previousRole == ROLE_CITY_ADMIN) _adminCount -= 1;
        if (role == ROLE_CITY_ADMIN) _adminCount += 1;

        if (previousRole == ROLE_NONE) {
            _accounts.push(account);
            _accountPosition[account] = _accounts.length;
        } else if (role == ROLE_NONE) {
            _removeAccountPosition(account);
        }
        emit AccountRoleChanged(account, previousRole, role, msg.sender);
    }

    function _addNode(bytes32 nodeId) private {
        require(nodeId != bytes32(0), "Permissioning: zero node id");
        require(!_nodeAllowed[nodeId], "Permissioning: node is already allowed");
        _nodeAllowed[nodeId] = true;
        _nodes.push(nodeId);
        _nodePosition[nodeId] = _nodes.length;
        emit NodeAdded(nodeId, msg.sender);
    }

    // Swap-and-pop keeps removal O(1); the order of the list is not meaningful.
    function _removeAccountPosition(address account) private {
        uint256 index = _accountPosition[account] - 1;
        address last = _accounts[_accounts.length - 1];
        _accounts[index] = last;
        _accountPosition[last] = index + 1;
        _accounts.pop();
        delete _accountPosition[account];
    }

    function _removeNodePosition(bytes32 nodeId) private {
        uint256 index = _nodePosition[nodeId] - 1;
        bytes32 last = _nodes[_nodes.length - 1];
        _nodes[index] = last;
        _nodePosition[last] = index + 1;
        _nodes.pop();
        delete _nodePosition[nodeId];
    }
}
