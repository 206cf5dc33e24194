// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.37;

/// @title NoticeBoard: a small example contract for end-to-end tests.
/// @notice Exercises what a client must handle: state changes, an event with
/// indexed and non-indexed arguments, a revert string and a custom error.
contract NoticeBoard {
    error Unauthorized(address caller);

    event Posted(address indexed author, uint256 indexed id, string text);

    /// @notice Number of notes posted; also the id of the latest note (ids start at 1).
    uint256 public count;

    /// @notice The note with the given id; empty for an id never posted.
    mapping(uint256 => string) public notes;

    function post(string calldata text) external returns (uint256 id) {
        require(bytes(text).length > 0, "NoticeBoard: empty text");
        id = count + 1;
        count = id;
        notes[id] = text;
        emit Posted(msg.sender, id, text);
    }

    /// @notice Always reverts with the custom error Unauthorized(msg.sender).
    function failWithCustomError() external view {
        revert Unauthorized(msg.sender);
    }
}
