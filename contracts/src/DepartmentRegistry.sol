// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/// @title DepartmentRegistry: the departments of the city and their accounts.
/// @notice Predeployed in genesis. A department is keyed by its Unified Social
/// Credit Code (USCI, GB 32100-2015: 18 ASCII characters, check character verified
/// here too) and has a name, a bitmask of roles and an active flag. The city
/// administration multisig admits and removes departments and names each one's
/// admin account; that admin account adds and removes the department's operator
/// accounts. An account belongs to at most one department.
///
/// Removal keeps the record (inactive, for history) but releases every account of
/// the department, so none of them can act for it any more. Re-admitting an
/// inactive department starts it again with only its new admin account.
contract DepartmentRegistry {
    uint8 public constant ROLE_ISSUER = 1;
    uint8 public constant ROLE_VERIFIER = 2;
    uint8 public constant ROLE_REGULATOR = 4;
    uint8 public constant ROLE_BANK = 8;
    uint8 public constant ROLE_SERVICE_MODULE = 16;
    uint8 private constant ALL_ROLES = 31;

    // GB 32100-2015: character values are positions in this alphabet (no I, O, S, V, Z).
    bytes private constant USCI_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY";
    // Weights of positions 1-17: 1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28.
    bytes private constant USCI_WEIGHTS = hex"0103091b131a1011141d190d08180a1e1c";

    struct Department {
        string name;
        uint8 roles;
        bool active;
        address admin;
    }

    /// The CityAdministration multisig.
    address public immutable administration;

    mapping(bytes18 => Department) private _departments;
    bytes18[] private _uscis; // every department ever admitted, active or not
    mapping(address => bytes18) private _departmentOf; // bytes18(0): none
    mapping(bytes18 => address[]) private _accounts;
    mapping(address => uint256) private _accountPosition; // plus one; 0 = absent

    event DepartmentAdmitted(bytes18 indexed usci, string name, uint8 roles, address admin);
    event DepartmentRemoved(bytes18 indexed usci);
    event RolesChanged(bytes18 indexed usci, uint8 previousRoles, uint8 newRoles);
    event AdminChanged(
        bytes18 indexed usci, address indexed previousAdmin, address indexed newAdmin
    );
    event AccountAdded(bytes18 indexed usci, address indexed account, address indexed by);
    event AccountRemoved(bytes18 indexed usci, address indexed account, address indexed by);

    modifier onlyAdministration() {
        require(
            msg.sender == administration,
            "DepartmentRegistry: caller is not the city administration"
        );
        _;
    }

    modifier onlyActive(bytes18 usci) {
        require(_departments[usci].active, "DepartmentRegistry: department is not active");
        _;
    }

    constructor(address administration_) {
        require(administration_ != address(0), "DepartmentRegistry: zero administration");
        administration = administration_;
    }

    // ---- City administration actions ----

    /// @notice Admits a department (or re-admits a removed one) with its admin account.
    function admit(bytes18 usci, string calldata name, uint8 roles, address admin)
        external
        onlyAdministration
    {
        require(isValidUsci(usci), "DepartmentRegistry: invalid USCI");
        Department storage d = _departments[usci];
        require(!d.active, "DepartmentRegistry: department already admitted");
        require(bytes(name).length > 0, "DepartmentRegistry: empty name");
        _requireValidRoles(roles);
        if (d.admin == address(0)) _uscis.push(usci); // first admission
        d.name = name;
        d.roles = roles;
        d.active = true;
        d.admin = admin;
        emit DepartmentAdmitted(usci, name, roles, admin);
        _addAccount(usci, admin);
    }

    /// @notice Deactivates a department and releases all of its accounts.
    function remove(bytes18 usci) external onlyAdministration onlyActive(usci) {
        address[] storage accounts = _accounts[usci];
        while (accounts.length > 0) {
            _removeAccount(usci, accounts[accounts.length - 1]);
        }
        _departments[usci].active = false;
        emit DepartmentRemoved(usci);
    }

    function setRoles(bytes18 usci, uint8 roles) external onlyAdministration onlyActive(usci) {
        _requireValidRoles(roles);
        uint8 previous = _departments[usci].roles;
        require(previous != roles, "DepartmentRegistry: roles unchanged");
        _departments[usci].roles = roles;
        emit RolesChanged(usci, previous, roles);
    }

    /// @notice Replaces a department's admin account (e.g. after a lost key); the
    /// previous admin account leaves the department. The new one may already be an
    /// operator of it.
    function setAdmin(bytes18 usci, address newAdmin)
        external
        onlyAdministration
        onlyActive(usci)
    {
        address previous = _departments[usci].admin;
        require(newAdmin != previous, "DepartmentRegistry: already the admin");
        if (_departmentOf[newAdmin] != usci) _addAccount(usci, newAdmin);
        _departments[usci].admin = newAdmin;
        _removeAccount(usci, previous);
        emit AdminChanged(usci, previous, newAdmin);
    }

    // ---- Department admin actions ----

    /// @notice Adds an operator account to the caller's department.
    function addOperator(address account) external {
        _addAccount(_departmentAdministeredBy(msg.sender), account);
    }

    /// @notice Removes an operator account from the caller's department.
    function removeOperator(address account) external {
        bytes18 usci = _departmentAdministeredBy(msg.sender);
        require(
            _departmentOf[account] == usci, "DepartmentRegistry: account is not in the department"
        );
        require(account != msg.sender, "DepartmentRegistry: cannot remove the department admin");
        _removeAccount(usci, account);
    }

    // ---- Views ----

    function department(bytes18 usci)
        external
        view
        returns (string memory name, uint8 roles, bool active, address admin)
    {
        Department storage d = _departments[usci];
        return (d.name, d.roles, d.active, d.admin);
    }

    function isActive(bytes18 usci) external view returns (bool) {
        return _departments[usci].active;
    }

    /// @notice Whether `usci` is active and has every role bit of `roles`.
    function hasRoles(bytes18 usci, uint8 roles) external view returns (bool) {
        Department storage d = _departments[usci];
        return d.active && roles != 0 && d.roles & roles == roles;
    }

    /// @notice The (active) department `account` acts for; bytes18(0) if none.
    function departmentOf(address account) external view returns (bytes18) {
        return _departmentOf[account];
    }

    /// @notice The admin and operator accounts of `usci`, in no particular order.
    function accountsOf(bytes18 usci) external view returns (address[] memory) {
        return _accounts[usci];
    }

    /// @notice Every department ever admitted, including removed ones.
    function departments() external view returns (bytes18[] memory) {
        return _uscis;
    }

    /// @notice GB 32100-2015 check: 18 characters of the alphabet, the last one
    /// 31 - (sum of value * weight over the first 17 mod 31), where 31 means '0'.
    function isValidUsci(bytes18 code) public pure returns (bool) {
        uint256 sum = 0;
        for (uint256 i = 0; i < 17; i++) {
            (bool ok, uint256 value) = _usciValue(code[i]);
            if (!ok) return false;
            sum += value * uint8(USCI_WEIGHTS[i]);
        }
        (bool checkOk, uint256 check) = _usciValue(code[17]);
        return checkOk && check == (31 - (sum % 31)) % 31;
    }

    // ---- Internals ----

    function _usciValue(bytes1 char) private pure returns (bool, uint256) {
        for (uint256 i = 0; i < 31; i++) {
            if (USCI_ALPHABET[i] == char) return (true, i);
        }
        return (false, 0);
    }

    function _requireValidRoles(uint8 roles) private pure {
        require(roles != 0 && roles & ~ALL_ROLES == 0, "DepartmentRegistry: invalid roles");
    }

    function _departmentAdministeredBy(address account) private view returns (bytes18 usci) {
        usci = _departmentOf[account];
        require(
            usci != bytes18(0) && _departments[usci].admin == account,
            "DepartmentRegistry: caller is not a department admin"
        );
    }

    function _addAccount(bytes18 usci, address account) private {
        require(account != address(0), "DepartmentRegistry: zero address");
        require(
            _departmentOf[account] == bytes18(0),
            "DepartmentRegistry: account already belongs to a department"
        );
        _departmentOf[account] = usci;
        _accounts[usci].push(account);
        _accountPosition[account] = _accounts[usci].length;
        emit AccountAdded(usci, account, msg.sender);
    }

    // Swap-and-pop keeps removal O(1); the order of the list is not meaningful.
    function _removeAccount(bytes18 usci, address account) private {
        address[] storage accounts = _accounts[usci];
        uint256 index = _accountPosition[account] - 1;
        address last = accounts[accounts.length - 1];
        accounts[index] = last;
        _accountPosition[last] = index + 1;
        accounts.pop();
        delete _accountPosition[account];
        delete _departmentOf[account];
        emit AccountRemoved(usci, account, msg.sender);
    }
}
