import CLibc

/// A directory held open by descriptor. Every operation is relative to it (openat, renameat,
/// fstatat...) and takes a plain name, never a path, so nothing can redirect it through a symlink
/// or a renamed parent once it is open. Names with "/" or that are "." or ".." are refused.
public final class Directory {
    public let path: String
    let descriptor: Int32

    /// Opens `path`, which must be a real directory (not a symlink).
    public init(_ path: String) throws(SystemError) {
        let opened = scep_open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0)
        guard opened >= 0 else { throw SystemError.last("open", path: path) }
        self.path = path
        descriptor = opened
    }

    private init(path: String, descriptor: Int32) {
        self.path = path
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }

    func checked(_ name: String) throws(SystemError) -> String {
        guard !name.isEmpty, name != ".", name != "..", !name.utf8.contains(UInt8(ascii: "/")), !name.utf8.contains(0) else {
            throw SystemError("use", path: path + "/" + name, code: EINVAL, detail: .notAFileName)
        }
        return name
    }

    func full(_ name: String) -> String { path + "/" + name }

    /// What the directory itself is: its owner and permission bits.
    public func status() throws(SystemError) -> FileStatus {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw SystemError.last("stat", path: path) }
        return FileStatus(info)
    }

    /// An entry's status without following a symlink, or nil when it does not exist.
    public func status(of name: String) throws(SystemError) -> FileStatus? {
        var info = stat()
        if fstatat(descriptor, try checked(name), &info, AT_SYMLINK_NOFOLLOW) != 0 {
            if scep_errno() == ENOENT { return nil }
            throw SystemError.last("lstat", path: full(name))
        }
        return FileStatus(info)
    }

    /// The names in the directory, "." and ".." excluded.
    public func entries() throws(SystemError) -> [String] {
        let copy = dup(descriptor)
        guard copy >= 0, let stream = fdopendir(copy) else { throw SystemError.last("opendir", path: path) }
        defer { closedir(stream) }
        rewinddir(stream)
        var names: [String] = []
        while let entry = readdir(stream) {
            let name = stringFromC(scep_dirent_name(entry))
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    public func subdirectory(_ name: String) throws(SystemError) -> Directory {
        let opened = scep_openat(descriptor, try checked(name), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0)
        guard opened >= 0 else { throw SystemError.last("open", path: full(name)) }
        return Directory(path: full(name), descriptor: opened)
    }

    public func makeSubdirectory(_ name: String, permissions: UInt32) throws(SystemError) {
        if mkdirat(descriptor, try checked(name), mode_t(permissions)) != 0 { throw SystemError.last("mkdir", path: full(name)) }
    }

    /// Reads a regular file (never through a symlink), at most `limit` bytes.
    public func read(_ name: String, limit: Int) throws(SystemError) -> [UInt8] {
        let opened = scep_openat(descriptor, try checked(name), O_RDONLY | O_NOFOLLOW | O_CLOEXEC, 0)
        guard opened >= 0 else { throw SystemError.last("open", path: full(name)) }
        defer { close(opened) }
        return try readAll(opened, path: full(name), limit: limit)
    }

    /// Writes `bytes` to `name` atomically: a new temporary file (O_EXCL|O_NOFOLLOW, mode
    /// `permissions`), written, fsync'd, renamed over `name`, and the directory fsync'd.
    public func writeAtomically(_ name: String, _ bytes: UnsafeBufferPointer<UInt8>, permissions: UInt32) throws(SystemError) {
        let target = try checked(name)
        let temporary = ".tmp-\(target)-\(getpid())"
        let opened = scep_openat(descriptor, temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, permissions)
        guard opened >= 0 else { throw SystemError.last("create", path: full(temporary)) }
        var failure = fillTemporary(opened, bytes, permissions: permissions, owner: nil, group: nil, path: full(temporary))
        if failure == nil && renameat(descriptor, temporary, descriptor, target) != 0 { failure = SystemError.last("rename", path: full(target)) }
        if let failure {
            unlinkat(descriptor, temporary, 0)
            throw failure
        }
        try sync()
    }

    public func writeAtomically(_ name: String, _ bytes: [UInt8], permissions: UInt32) throws(SystemError) {
        try bytes.withUnsafeBufferPointer { (buffer) throws(SystemError) in
            try writeAtomically(name, buffer, permissions: permissions)
        }
    }

    /// Creates `name`, which must not exist (never through a symlink), with mode `permissions`,
    /// writes `bytes` and starts its writeback without waiting for it. Several files written this
    /// way and then made durable together with `sync(_:)` reach the disk as one batch, where a
    /// write-and-fsync per file would cost one storage round trip each.
    public func createUnsynced(_ name: String, _ bytes: UnsafeBufferPointer<UInt8>,
                               permissions: UInt32) throws(SystemError) -> UnsyncedFile {
        let target = try checked(name)
        let opened = scep_openat(descriptor, target, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, permissions)
        guard opened >= 0 else { throw SystemError.last("create", path: full(target)) }
        let file = UnsyncedFile(name: target, path: full(target), descriptor: opened)
        if let failure = fill(opened, bytes, permissions: permissions, owner: nil, group: nil, path: file.path) {
            unlinkat(descriptor, target, 0)   // a half-written file must not stay under its name
            throw failure
        }
        _ = scep_start_writeback(opened)
        return file
    }

    public func createUnsynced(_ name: String, _ bytes: [UInt8], permissions: UInt32) throws(SystemError) -> UnsyncedFile {
        try bytes.withUnsafeBufferPointer { (buffer) throws(SystemError) in
            try createUnsynced(name, buffer, permissions: permissions)
        }
    }

    /// A new temporary file, to be renamed over `target` once durable (see `createUnsynced`).
    /// Its name starts with ".tmp-", which is how leftovers of a crash are recognised.
    public func createTemporary(replacing target: String, _ bytes: [UInt8], permissions: UInt32) throws(SystemError) -> UnsyncedFile {
        try createUnsynced(".tmp-\(try checked(target))-\(getpid())", bytes, permissions: permissions)
    }

    /// Makes every file durable (contents and size), then this directory's entries for them.
    public func sync(_ files: [UnsyncedFile]) throws(SystemError) {
        for file in files { try file.sync() }
        try sync()
    }

    public func rename(_ from: String, to: String) throws(SystemError) {
        if renameat(descriptor, try checked(from), descriptor, try checked(to)) != 0 { throw SystemError.last("rename", path: full(from)) }
    }

    /// Removes a file, or with `directory` an empty directory; a missing entry is not an error.
    public func remove(_ name: String, directory: Bool = false) throws(SystemError) {
        if unlinkat(descriptor, try checked(name), directory ? AT_REMOVEDIR : 0) != 0 && scep_errno() != ENOENT {
            throw SystemError.last("remove", path: full(name))
        }
    }

    /// Makes renames and removals in this directory durable.
    public func sync() throws(SystemError) {
        if fsync(descriptor) != 0 { throw SystemError.last("fsync", path: path) }
    }

    /// An exclusive advisory lock on `name` (created 0600 if missing), held until `release` or
    /// the process ends. Waits up to `timeoutMilliseconds`; nil when another holder kept it.
    public func lock(_ name: String, timeoutMilliseconds: Int64) throws(SystemError) -> FileLock? {
        let opened = scep_openat(descriptor, try checked(name), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard opened >= 0 else { throw SystemError.last("open", path: full(name)) }
        let deadline = monotonicMilliseconds() + timeoutMilliseconds
        while flock(opened, LOCK_EX | LOCK_NB) != 0 {
            guard scep_errno() == EWOULDBLOCK || scep_errno() == EINTR else {
                let failure = SystemError.last("lock", path: full(name))
                close(opened)
                throw failure
            }
            if monotonicMilliseconds() >= deadline {
                close(opened)
                return nil
            }
            sleepMilliseconds(50)
        }
        // Record who holds it, for the message a second agent prints. Written over the old
        // holder's number, then cut to length: truncating to zero first would free the file's
        // block and allocate it again on every run (a discard on flash mounted with -o discard).
        let pid = Array("\(getpid())\n".utf8)
        _ = pid.withUnsafeBufferPointer { pwrite(opened, $0.baseAddress, $0.count, 0) }
        _ = ftruncate(opened, off_t(pid.count))
        return FileLock(descriptor: opened)
    }
}

/// A file written by `Directory.createUnsynced` whose durability is still pending; closed when
/// synced or dropped.
public final class UnsyncedFile {
    public let name: String
    let path: String
    private var descriptor: Int32

    init(name: String, path: String, descriptor: Int32) {
        self.name = name
        self.path = path
        self.descriptor = descriptor
    }

    deinit { if descriptor >= 0 { close(descriptor) } }

    /// Waits until the file is on stable storage, and closes it.
    func sync() throws(SystemError) {
        guard descriptor >= 0 else { return }
        let synced = fsync(descriptor) == 0
        let failure = synced ? nil : SystemError.last("fsync", path: path)
        let closed = close(descriptor) == 0
        descriptor = -1
        if let failure { throw failure }
        if !closed { throw SystemError.last("close", path: path) }
    }
}

/// A held `flock`; released when dropped.
public final class FileLock {
    let descriptor: Int32
    init(descriptor: Int32) { self.descriptor = descriptor }
    deinit { release() }
    private var released = false
    public func release() {
        guard !released else { return }
        released = true
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}

extension FileStatus {
    init(_ info: stat) {
        let mode = UInt32(info.st_mode)
        let kind: Kind
        if scep_s_islnk(mode) != 0 { kind = .symlink }
        else if scep_s_isdir(mode) != 0 { kind = .directory }
        else if scep_s_isreg(mode) != 0 { kind = .regular }
        else { kind = .other }
        self.init(kind: kind, permissions: mode & 0o7777, owner: UInt32(info.st_uid), size: Int64(info.st_size))
    }
}

/// Reads an open file to its end, refusing more than `limit` bytes, leaving no copy in buffers.
func readAll(_ descriptor: Int32, path: String, limit: Int) throws(SystemError) -> [UInt8] {
    var info = stat()
    guard fstat(descriptor, &info) == 0 else { throw SystemError.last("stat", path: path) }
    // A FIFO or a device could block the agent or never end: only regular files are read.
    guard scep_s_isreg(info.st_mode) != 0 else {
        throw SystemError("read", path: path, code: EINVAL, detail: .notARegularFile)
    }
    func tooLarge() -> SystemError { SystemError("read", path: path, code: EFBIG, detail: .largerThan(limit: limit)) }
    guard info.st_size <= limit else { throw tooLarge() }
    var bytes: [UInt8] = []
    bytes.reserveCapacity(Int(info.st_size))
    var chunk = [UInt8](repeating: 0, count: 4096)
    defer { chunk.withUnsafeMutableBytes { if let base = $0.baseAddress { explicit_bzero(base, $0.count) } } }
    while true {
        let count = chunk.withUnsafeMutableBytes { CLibc.read(descriptor, $0.baseAddress, $0.count) }
        if count < 0 {
            if scep_errno() == EINTR { continue }
            throw SystemError.last("read", path: path)
        }
        if count == 0 { break }
        guard bytes.count + count <= limit else { throw tooLarge() }
        bytes.append(contentsOf: chunk[0..<count])
    }
    return bytes
}
