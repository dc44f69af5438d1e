import CLibc
import Encoding

/// Reads a whole file, refusing anything larger than `limit` bytes so a hostile or corrupt file
/// cannot exhaust memory. With `followSymlinks: false` a symlink at `path` is refused (ELOOP).
public func readFile(_ path: String, limit: Int, followSymlinks: Bool = true) throws(SystemError) -> [UInt8] {
    var flags = O_RDONLY | O_CLOEXEC
    if !followSymlinks { flags |= O_NOFOLLOW }
    let descriptor = scep_open(path, flags, 0)
    guard descriptor >= 0 else { throw SystemError.last("open", path: path) }
    defer { close(descriptor) }

    return try readAll(descriptor, path: path, limit: limit)
}

/// What `stat` (or `lstat`, which does not follow a final symlink) says of a path.
public struct FileStatus: Equatable {
    public enum Kind: Equatable { case regular, directory, symlink, other }
    public let kind: Kind
    /// Permission bits only (the low 12 bits of st_mode).
    public let permissions: UInt32
    public let owner: UInt32
    public let size: Int64
}

public func fileStatus(_ path: String, followSymlinks: Bool = false) throws(SystemError) -> FileStatus {
    var info = stat()
    let result = followSymlinks ? stat(path, &info) : lstat(path, &info)
    guard result == 0 else { throw SystemError.last(followSymlinks ? "stat" : "lstat", path: path) }
    return FileStatus(info)
}

public func fileExists(_ path: String) -> Bool {
    var info = stat()
    return lstat(path, &info) == 0
}

/// Creates a directory with `permissions` if it does not exist yet.
public func makeDirectory(_ path: String, permissions: UInt32) throws(SystemError) {
    if mkdir(path, mode_t(permissions)) != 0 && scep_errno() != EEXIST {
        throw SystemError.last("mkdir", path: path)
    }
}

public func removeFile(_ path: String) throws(SystemError) {
    if unlink(path) != 0 && scep_errno() != ENOENT { throw SystemError.last("unlink", path: path) }
}

/// Replaces `path` with `bytes` so that a reader, or a power cut, only ever sees the old or the new
/// content: a fresh temporary file in the same directory (O_EXCL|O_NOFOLLOW, created with
/// `permissions`), written, fsync'd, renamed over `path`, and the directory fsync'd.
public func writeFileAtomically(_ path: String, _ bytes: [UInt8], permissions: UInt32,
                                owner: UInt32? = nil, group: UInt32? = nil) throws(SystemError) {
    try bytes.withUnsafeBufferPointer { (buffer) throws(SystemError) in
        try writeFileAtomically(path, buffer, permissions: permissions, owner: owner, group: group)
    }
}

/// The same, from borrowed bytes, so a secret can be written without copying it into an array.
/// `owner` and `group` (when given) are set on the temporary file before it is renamed into place,
/// so the final name never has the wrong owner, even for an instant.
public func writeFileAtomically(_ path: String, _ bytes: UnsafeBufferPointer<UInt8>, permissions: UInt32,
                                owner: UInt32? = nil, group: UInt32? = nil) throws(SystemError) {
    let directory = parentDirectory(of: path)
    removeStaleTemporaries(of: path)
    let temporary = path + ".tmp-\(getpid())"
    let descriptor = scep_open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, permissions)
    guard descriptor >= 0 else { throw SystemError.last("create", path: temporary) }

    var failure = fillTemporary(descriptor, bytes, permissions: permissions, owner: owner, group: group, path: temporary)
    if failure == nil && rename(temporary, path) != 0 { failure = SystemError.last("rename", path: path) }
    if let failure {
        unlink(temporary)
        throw failure
    }
    try syncDirectory(directory)
}

/// The part of an atomic write both forms share: `fill`, then fsync'd and closed. Always closes
/// `descriptor`; returns the first failure.
func fillTemporary(_ descriptor: Int32, _ bytes: UnsafeBufferPointer<UInt8>, permissions: UInt32,
                   owner: UInt32?, group: UInt32?, path: String) -> SystemError? {
    var failure = fill(descriptor, bytes, permissions: permissions, owner: owner, group: group, path: path)
    if failure == nil && fsync(descriptor) != 0 { failure = SystemError.last("fsync", path: path) }
    if close(descriptor) != 0 && failure == nil { failure = SystemError.last("close", path: path) }
    return failure
}

/// Every new file's content: the exact mode (the umask may have narrowed it) and owner set
/// before any byte is written, then every byte. Returns the first failure; closes nothing.
func fill(_ descriptor: Int32, _ bytes: UnsafeBufferPointer<UInt8>, permissions: UInt32,
          owner: UInt32?, group: UInt32?, path: String) -> SystemError? {
    if fchmod(descriptor, mode_t(permissions)) != 0 { return SystemError.last("chmod", path: path) }
    if (owner != nil || group != nil)
        && fchown(descriptor, owner.map { uid_t($0) } ?? uid_t.max, group.map { gid_t($0) } ?? gid_t.max) != 0 {
        return SystemError.last("chown", path: path)
    }
    return writeEverything(descriptor, bytes, path: path)
}

/// Makes a rename or unlink in `directory` durable.
public func syncDirectory(_ directory: String) throws(SystemError) {
    let descriptor = scep_open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0)
    guard descriptor >= 0 else { throw SystemError.last("open", path: directory) }
    defer { close(descriptor) }
    if fsync(descriptor) != 0 { throw SystemError.last("fsync", path: directory) }
}

func writeEverything(_ descriptor: Int32, _ buffer: UnsafeBufferPointer<UInt8>, path: String) -> SystemError? {
    guard var cursor = buffer.baseAddress else { return nil }
    var remaining = buffer.count
    while remaining > 0 {
        let written = write(descriptor, cursor, remaining)
        if written < 0 {
            if scep_errno() == EINTR { continue }
            return SystemError.last("write", path: path)
        }
        cursor += written
        remaining -= written
    }
    return nil
}

/// Removes what a process killed mid-write left next to `path`: `<name>.tmp-PID` files whose PID
/// is no longer running, or is ours (PIDs repeat from boot to boot on a device, and this process
/// writes one file at a time; left in place, our own leftover would make the O_EXCL create fail on
/// every try). They may hold a private key (a published --key-out), so they must not outlive the
/// crash. Another live writer's file is left alone; a failure here only keeps a leftover.
func removeStaleTemporaries(of path: String) {
    let name = fileName(of: path)
    guard !name.isEmpty else { return }   // "dir/": no file of its own, so no leftovers either
    let prefix = Array((name + ".tmp-").utf8)
    guard let directory = try? Directory(parentDirectory(of: path)), let names = try? directory.entries() else { return }
    for name in names {
        let bytes = Array(name.utf8)
        guard bytes.starts(with: prefix),
              let pid = Numbers.parseInt(bytes[prefix.count...], limit: Int(Int32.max)), pid > 0 else { continue }
        if pid == Int(getpid()) || (kill(pid_t(pid), 0) != 0 && scep_errno() == ESRCH) {
            try? directory.remove(name)
        }
    }
}

/// The last component of a path: "a/b" -> "b", "b" -> "b".
public func fileName(of path: String) -> String {
    guard let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")) else { return path }
    return String(path[path.utf8.index(after: slash)...])
}

/// The directory part of a path: "a/b" -> "a", "b" -> ".", "/b" -> "/".
public func parentDirectory(of path: String) -> String {
    guard let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")) else { return "." }
    if slash == path.utf8.startIndex { return "/" }
    return String(path[..<slash])
}
