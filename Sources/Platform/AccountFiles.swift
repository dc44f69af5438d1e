/// Users and groups by name, for `publish-owner` and `publish-group`.
///
/// Read from /etc/passwd and /etc/group directly rather than through getpwnam(3): a static
/// binary has no NSS (glibc's static getpwnam needs the shared libnss modules of the glibc it was
/// built with, which a device image need not have), and musl's brings nscd client code along.
/// Device images keep their service accounts in these files; an account known only to a
/// directory service can be given by number.
public func userID(named name: String, passwd: String = "/etc/passwd") -> UInt32? {
    accountID(named: name, in: passwd)
}

public func groupID(named name: String, group: String = "/etc/group") -> UInt32? {
    accountID(named: name, in: group)
}

/// A number is taken as it is; a name is looked up as the first field of a `name:x:id:...` line.
func accountID(named name: String, in path: String) -> UInt32? {
    if let number = UInt32(name) { return number }
    guard !name.isEmpty, !name.utf8.contains(UInt8(ascii: ":")),
          let bytes = try? readFile(path, limit: 4 << 20) else { return nil }
    let wanted = Array(name.utf8)
    for line in bytes.split(separator: 0x0a) {
        let fields = line.split(separator: UInt8(ascii: ":"), maxSplits: 3, omittingEmptySubsequences: false)
        guard fields.count >= 3, fields[0].elementsEqual(wanted) else { continue }
        return UInt32(String(decoding: fields[2], as: UTF8.self))
    }
    return nil
}
