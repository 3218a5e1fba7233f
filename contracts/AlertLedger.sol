// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title AlertLedger — append-only record of GPU alerts, their acknowledgement and resolution.
/// @notice Written by Telemetry Stack's ledger activities (ethers v6). Ids and identities are
///         hashes: `id = keccak256(utf8(alertId))`, `deviceHash = keccak256(utf8(device))`,
///         `responderHash = keccak256(utf8(responder))`. No personal data is stored in clear.
/// @dev Units: every timestamp is Unix time in MILLISECONDS (uint64), as produced off chain.
///      Severity: 1 = warning, 2 = critical. Channel: 1 = slack, 2 = api, 3 = console.
///      Invariants: an alert is recorded once, acknowledged at most once, resolved at most once;
///      nothing is ever overwritten or deleted.
contract AlertLedger {
    /// @dev Packed into 6 storage slots; `recordedBy == address(0)` means "no such alert".
    struct AlertRecord {
        bytes32 deviceHash;
        bytes32 responderHash;
        bytes32 reasonHash;
        address recordedBy;
        uint64 raisedAt;
        uint8 severity;
        address ackedBy;
        uint64 ackedAt;
        uint8 channel;
        address resolvedBy;
        uint64 resolvedAt;
    }

    error NotOwner();
    error NotRecorder(address account);
    error AlertExists(bytes32 id);
    error UnknownAlert(bytes32 id);
    error AlreadyAcknowledged(bytes32 id, address recorder, uint64 ackedAt);
    error AlreadyResolved(bytes32 id);

    event AlertRecorded(bytes32 indexed id, bytes32 indexed deviceHash, uint8 severity, uint64 raisedAt, address recorder);
    event AlertAcknowledged(bytes32 indexed id, bytes32 indexed responderHash, uint64 ackedAt, uint8 channel, address recorder);
    event AlertResolved(bytes32 indexed id, bytes32 reasonHash, uint64 resolvedAt, address recorder);
    event RecorderGranted(address indexed account);
    event RecorderRevoked(address indexed account);

    /// @dev Event kinds folded into the rolling digest.
    uint8 private constant KIND_RECORDED = 1;
    uint8 private constant KIND_ACKNOWLEDGED = 2;
    uint8 private constant KIND_RESOLVED = 3;

    address public immutable owner;

    mapping(address => bool) private _recorders;
    mapping(bytes32 => AlertRecord) private _alerts;

    /// @dev Both counters share one slot (each write touches it anyway).
    uint64 private _alertCount;
    uint64 private _eventCount;
    /// @dev Rolling hash over every write, in order: digest' = keccak256(digest, kind, id, payload...).
    ///      Publishing (alertCount, eventCount, digest) outside the chain lets anyone holding the
    ///      events recompute it and detect a rewritten history, independently of block hashes.
    bytes32 private _digest;

    constructor() {
        owner = msg.sender;
    }

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner();
        _;
    }

    modifier onlyRecorder() {
        if (!isRecorder(msg.sender)) revert NotRecorder(msg.sender);
        _;
    }

    // ------------------------------------------------------------------ roles

    /// @notice The owner is always a recorder; others only while granted.
    function isRecorder(address account) public view returns (bool) {
        return account == owner || _recorders[account];
    }

    function grantRecorder(address account) external onlyOwner {
        if (!_recorders[account]) {
            _recorders[account] = true;
            emit RecorderGranted(account);
        }
    }

    function revokeRecorder(address account) external onlyOwner {
        if (_recorders[account]) {
            _recorders[account] = false;
            emit RecorderRevoked(account);
        }
    }

    // ------------------------------------------------------------------ writes

    function recordAlert(bytes32 id, bytes32 deviceHash, uint8 severity, uint64 raisedAt) external onlyRecorder {
        AlertRecord storage a = _alerts[id];
        if (a.recordedBy != address(0)) revert AlertExists(id);
        a.deviceHash = deviceHash;
        a.recordedBy = msg.sender;
        a.raisedAt = raisedAt;
        a.severity = severity;
        unchecked {
            _alertCount += 1;
        }
        _fold(KIND_RECORDED, id, deviceHash, uint256(severity), raisedAt);
        emit AlertRecorded(id, deviceHash, severity, raisedAt, msg.sender);
    }

    /// @notice Once per alert. A resolved alert can no longer be acknowledged.
    function acknowledge(bytes32 id, bytes32 responderHash, uint64 ackedAt, uint8 channel) external onlyRecorder {
        AlertRecord storage a = _alerts[id];
        if (a.recordedBy == address(0)) revert UnknownAlert(id);
        // Checked before "resolved" so that a replayed ack always reports the existing ack.
        if (a.ackedBy != address(0)) revert AlreadyAcknowledged(id, a.ackedBy, a.ackedAt);
        if (a.resolvedBy != address(0)) revert AlreadyResolved(id);
        a.responderHash = responderHash;
        a.ackedBy = msg.sender;
        a.ackedAt = ackedAt;
        a.channel = channel;
        _fold(KIND_ACKNOWLEDGED, id, responderHash, uint256(channel), ackedAt);
        emit AlertAcknowledged(id, responderHash, ackedAt, channel, msg.sender);
    }

    /// @notice Once per alert; allowed with or without a prior acknowledgement (auto-recovery).
    function resolve(bytes32 id, uint64 resolvedAt, bytes32 reasonHash) external onlyRecorder {
        AlertRecord storage a = _alerts[id];
        if (a.recordedBy == address(0)) revert UnknownAlert(id);
        if (a.resolvedBy != address(0)) revert AlreadyResolved(id);
        a.reasonHash = reasonHash;
        a.resolvedBy = msg.sender;
        a.resolvedAt = resolvedAt;
        _fold(KIND_RESOLVED, id, reasonHash, 0, resolvedAt);
        emit AlertResolved(id, reasonHash, resolvedAt, msg.sender);
    }

    // ------------------------------------------------------------------ views

    /// @notice Reverts with UnknownAlert when the id was never recorded.
    function getAlert(bytes32 id) external view returns (AlertRecord memory) {
        AlertRecord memory a = _alerts[id];
        if (a.recordedBy == address(0)) revert UnknownAlert(id);
        return a;
    }

    function alertCount() external view returns (uint256) {
        return _alertCount;
    }

    /// @notice Ledger head for external anchoring; pair it with the block hash it was read at.
    function ledgerHead() external view returns (uint256 alerts, uint256 events, bytes32 digest) {
        return (_alertCount, _eventCount, _digest);
    }

    // ------------------------------------------------------------------ internals

    function _fold(uint8 kind, bytes32 id, bytes32 dataHash, uint256 small, uint64 at) private {
        _digest = keccak256(abi.encode(_digest, kind, id, dataHash, small, at, msg.sender));
        unchecked {
            _eventCount += 1;
        }
    }
}
