import CLibc

/// Files the agent acts on without question: the config file (it names the hook command the
/// agent runs), the challenge and the device secret, which it reads; and a consumed challenge,
/// which it destroys.
public enum TrustedFile {
    /// Who besides the owner may read the file.
    public enum Readers: Sendable {
        /// Anyone: the config file holds no secret.
        case anyone
        /// Nobody: a challenge or a secret.
        case ownerOnly
    }

    /// Reads a trusted file. Refused, each with its own error: a symlink (O_NOFOLLOW: as root,
    /// a link to /etc/shadow must not be read as the challenge), anything but a regular file
    /// (opened O_NONBLOCK, so a FIFO cannot hang the agent), a file owned by another user than
    /// root or this one, or writable by group or others (someone could swap it), with other hard
    /// links (another name would outlive `destroy`), or, for `.ownerOnly`, readable by group or
    /// others.
    public static func read(_ path: String, limit: Int, readers: Readers) throws(SystemError) -> [UInt8] {
        let descriptor = scep_open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0)
        guard descriptor >= 0 else { throw SystemError.last("open", path: path) }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw SystemError.last("stat", path: path) }
        let mode = UInt32(info.st_mode)
        guard scep_s_isreg(mode) != 0 else { throw SystemError("read", path: path, code: EINVAL, detail: .notARegularFile) }
        guard info.st_uid == 0 || info.st_uid == geteuid(), mode & 0o022 == 0 else {
            throw SystemError("read", path: path, code: EPERM, detail: .notPrivate)
        }
        guard readers == .anyone || mode & 0o044 == 0 else {
            throw SystemError("read", path: path, code: EPERM, detail: .readableByOthers)
        }
        guard info.st_nlink == 1 else { throw SystemError("read", path: path, code: EMLINK, detail: .hardLinked) }
        return try readAll(descriptor, path: path, limit: limit)
    }

    /// Overwrites a secret's file with zeros in place, syncs, and removes it: the bytes do not
    /// linger in a free block of the same file. Refused for a symlink or a file with other hard
    /// links (the secret would survive under the other name).
    public static func destroy(_ path: String) throws(SystemError) {
        let descriptor = scep_open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0)
        guard descriptor >= 0 else { throw SystemError.last("open", path: path) }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw SystemError.last("stat", path: path) }
        guard scep_s_isreg(UInt32(info.st_mode)) != 0 else {
            throw SystemError("overwrite", path: path, code: EINVAL, detail: .notARegularFile)
        }
        guard info.st_nlink == 1 else { throw SystemError("overwrite", path: path, code: EMLINK, detail: .hardLinked) }
        // The same rule as `read`: a file another user put in its place is not ours to zero.
        guard info.st_uid == 0 || info.st_uid == geteuid(), UInt32(info.st_mode) & 0o022 == 0 else {
            throw SystemError("overwrite", path: path, code: EPERM, detail: .notPrivate)
        }
        let zeros = [UInt8](repeating: 0, count: 4096)
        var offset: Int64 = 0
        while offset < Int64(info.st_size) {
            let count = min(Int64(zeros.count), Int64(info.st_size) - offset)
            let written = zeros.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, Int(count), off_t(offset)) }
            if written < 0 {
                if scep_errno() == EINTR { continue }
                throw SystemError.last("overwrite", path: path)
            }
            offset += Int64(written)
        }
        guard fsync(descriptor) == 0 else { throw SystemError.last("fsync", path: path) }
        try removeFile(path)
        try? syncDirectory(parentDirectory(of: path))
    }
}
