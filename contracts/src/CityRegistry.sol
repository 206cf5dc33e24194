// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/// @title CityRegistry: where every system contract of citychain is found.
/// @notice Predeployed in genesis; its address is the one the genesis config names
/// (`systemContracts.cityRegistry`). Nodes, services and verifiers look every other
/// system contract up here by name, e.g. addressOf("TrustList"), so a contract can
/// be replaced without reconfiguring anyone. Only the city administration
/// multisig changes entries.
///
/// Names are ASCII, left-aligned and zero-padded to 32 bytes (like Solidity's
/// bytes32("TrustList")). An unknown name maps to address(0).
contract CityRegistry {
    /// The CityAdministration multisig: the only account that may change entries.
    address public immutable administration;

    mapping(bytes32 => address) private _addresses;
    // Enumeration: positions are stored plus one so that 0 means "absent".
    bytes32[] private _names;
    mapping(bytes32 => uint256) private _namePosition;

    event AddressSet(
        bytes32 indexed name, address indexed previousAddress, address indexed newAddress
    );
    event NameRemoved(bytes32 indexed name, address indexed previousAddress);

    modifier onlyAdministration() {
        require(
            msg.sender == administration, "CityRegistry: caller is not the city administration"
        );
        _;
    }

    /// @param administration_ the CityAdministration multisig.
    /// @param names_ and addresses_: the entries present from genesis on, pairwise.
    constructor(address administration_, bytes32[] memory names_, address[] memory addresses_) {
        require(administration_ != address(0), "CityRegistry: zero administration");
        require(
            names_.length == addresses_.length,
            "CityRegistry: names and addresses differ in length"
        );
        administration = administration_;
        for (uint256 i = 0; i < names_.length; i++) {
            _setAddress(names_[i], addresses_[i]);
        }
    }

    // ---- City administration actions ----

    /// @notice Adds `name` or points it to a new address.
    function setAddress(bytes32 name, address newAddress) external onlyAdministration {
        _setAddress(name, newAddress);
    }

    function removeName(bytes32 name) external onlyAdministration {
        address previous = _addresses[name];
        require(previous != address(0), "CityRegistry: unknown name");
        delete _addresses[name];
        uint256 index = _namePosition[name] - 1;
        bytes32 last = _names[_names.length - 1];
        _names[index] = last;
        _namePosition[last] = index + 1;
        _names.pop();
        delete _namePosition[name];
        emit NameRemoved(name, previous);
    }

    // ---- Views ----

    /// @notice The address registered under `name`, address(0) if none.
    function addressOf(bytes32 name) external view returns (address) {
        return _addresses[name];
    }

    /// @notice Every registered name, in no particular order.
    function names() external view returns (bytes32[] memory) {
        return _names;
    }

    // ---- Internals ----

    function _setAddress(bytes32 name, address newAddress) private {
        require(name != bytes32(0), "CityRegistry: empty name");
        require(newAddress != address(0), "CityRegistry: zero address");
        address previous = _addresses[name];
        require(previous != newAddress, "CityRegistry: address unchanged");
        _addresses[name] = newAddress;
        if (previous == address(0)) {
            _names.push(name);
            _namePosition[name] = _names.length;
        }
        emit AddressSet(name, previous, newAddress);
    }
}
