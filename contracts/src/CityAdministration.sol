// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/// @title CityAdministration: the city administration's multi-signature account.
/// @notice Predeployed in genesis with its admin accounts and threshold. Every
/// governed change of the trust contracts (registry entries, department admission
/// and removal, accreditations, the platform operator) is a call made by this
/// contract, so it happens only after `threshold` admins approved it:
///
///   propose(target, data)   an admin proposes a call; the proposal counts as
///                           the proposer's approval
///   approve(id)             further admins approve
///   execute(id)             any admin makes the call once approvals >= threshold
///
/// A proposal executes at most once. If the call reverts, execute reverts with the
/// same reason and the proposal stays pending. Approvals count only while the
/// approving account is an admin. Admins and threshold change only through
/// proposals that call this contract itself.
contract CityAdministration {
    struct Proposal {
        address target;
        bool executed;
        address proposer;
        bytes data;
    }

    address[] private _admins;
    // Positions are stored plus one so that 0 means "not an admin".
    mapping(address => uint256) private _adminPosition;
    uint256 private _threshold;
    Proposal[] private _proposals;
    mapping(uint256 => mapping(address => bool)) private _approved;

    event AdminAdded(address indexed admin);
    event AdminRemoved(address indexed admin);
    event ThresholdChanged(uint256 previousThreshold, uint256 newThreshold);
    event Proposed(
        uint256 indexed id, address indexed proposer, address indexed target, bytes data
    );
    event Approved(uint256 indexed id, address indexed admin);
    event ApprovalRevoked(uint256 indexed id, address indexed admin);
    event Executed(uint256 indexed id, address indexed by);

    modifier onlyAdmin() {
        require(_adminPosition[msg.sender] != 0, "CityAdministration: caller is not an admin");
        _;
    }

    modifier onlySelf() {
        require(
            msg.sender == address(this),
            "CityAdministration: only through an executed proposal"
        );
        _;
    }

    modifier pending(uint256 id) {
        require(id < _proposals.length, "CityAdministration: unknown proposal");
        require(!_proposals[id].executed, "CityAdministration: proposal already executed");
        _;
    }

    /// @param admins_ accounts that may propose, approve and execute; at least one.
    /// @param threshold_ approvals needed to execute; between 1 and admins_.length.
    constructor(address[] memory admins_, uint256 threshold_) {
        require(admins_.length > 0, "CityAdministration: at least one admin required");
        for (uint256 i = 0; i < admins_.length; i++) {
            _addAdmin(admins_[i]);
        }
        _setThreshold(threshold_);
    }

    // ---- Admin actions ----

    /// @notice Proposes that this contract call `target` with `data`; returns its id.
    function propose(address target, bytes calldata data)
        external
        onlyAdmin
        returns (uint256 id)
    {
        require(target.code.length > 0, "CityAdministration: target is not a contract");
        id = _proposals.length;
        _proposals.push(Proposal(target, false, msg.sender, data));
        emit Proposed(id, msg.sender, target, data);
        _approved[id][msg.sender] = true;
        emit Approved(id, msg.sender);
    }

    function approve(uint256 id) external onlyAdmin pending(id) {
        require(!_approved[id][msg.sender], "CityAdministration: already approved");
        _approved[id][msg.sender] = true;
        emit Approved(id, msg.sender);
    }

    function revokeApproval(uint256 id) external onlyAdmin pending(id) {
        require(_approved[id][msg.sender], "CityAdministration: not approved");
        _approved[id][msg.sender] = false;
        emit ApprovalRevoked(id, msg.sender);
    }

    /// @notice Makes the proposed call; returns what it returned.
    function execute(uint256 id) external onlyAdmin pending(id) returns (bytes memory) {
        require(
            approvalCount(id) >= _threshold, "CityAdministration: not enough approvals"
        );
        Proposal storage p = _proposals[id];
        // Marked before the call, so the call cannot execute it again.
        p.executed = true;
        (bool ok, bytes memory result) = p.target.call(p.data);
        if (!ok) {
            if (result.length == 0) revert("CityAdministration: call failed");
            // Bubble the target's revert data up unchanged.
            assembly {
                revert(add(result, 32), mload(result))
            }
        }
        emit Executed(id, msg.sender);
        return result;
    }

    // ---- Changes to this multisig itself (through proposals only) ----

    function addAdmin(address admin) external onlySelf {
        _addAdmin(admin);
    }

    function removeAdmin(address admin) external onlySelf {
        require(_adminPosition[admin] != 0, "CityAdministration: not an admin");
        require(
            _admins.length - 1 >= _threshold,
            "CityAdministration: fewer admins than the threshold would remain"
        );
        uint256 index = _adminPosition[admin] - 1;
        address last = _admins[_admins.length - 1];
        _admins[index] = last;
        _adminPosition[last] = index + 1;
        _admins.pop();
        delete _adminPosition[admin];
        emit AdminRemoved(admin);
    }

    function setThreshold(uint256 threshold_) external onlySelf {
        _setThreshold(threshold_);
    }

    // ---- Views ----

    function admins() external view returns (address[] memory) {
        return _admins;
    }

    function isAdmin(address account) external view returns (bool) {
        return _adminPosition[account] != 0;
    }

    function threshold() external view returns (uint256) {
        return _threshold;
    }

    function proposalCount() external view returns (uint256) {
        return _proposals.length;
    }

    function proposal(uint256 id)
        external
        view
        returns (address target, bytes memory data, address proposer, bool executed)
    {
        require(id < _proposals.length, "CityAdministration: unknown proposal");
        Proposal storage p = _proposals[id];
        return (p.target, p.data, p.proposer, p.executed);
    }

    function hasApproved(uint256 id, address admin) external view returns (bool) {
        return _approved[id][admin] && _adminPosition[admin] != 0;
    }

    /// @notice Approvals of `id` by accounts that are admins now.
    function approvalCount(uint256 id) public view returns (uint256 count) {
        for (uint256 i = 0; i < _admins.length; i++) {
            if (_approved[id][_admins[i]]) count++;
        }
    }

    // ---- Internals ----

    function _addAdmin(address admin) private {
        require(admin != address(0), "CityAdministration: zero address");
        require(_adminPosition[admin] == 0, "CityAdministration: already an admin");
        _admins.push(admin);
        _adminPosition[admin] = _admins.length;
        emit AdminAdded(admin);
    }

    function _setThreshold(uint256 threshold_) private {
        require(
            threshold_ >= 1 && threshold_ <= _admins.length,
            "CityAdministration: threshold must be between 1 and the admin count"
        );
        require(threshold_ != _threshold, "CityAdministration: threshold unchanged");
        emit ThresholdChanged(_threshold, threshold_);
        _threshold = threshold_;
    }
}
