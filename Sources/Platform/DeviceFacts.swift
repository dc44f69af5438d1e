import CLibc
import Encoding

/// Facts that identify this device, for subject placeholders. Each comes from the first source
/// that has it; nil when none does.
public enum DeviceFacts {
    public static func value(of name: String) -> String? {
        switch name {
        case "hostname": hostname()
        case "machine-id": firstLine("/etc/machine-id")
        case "serial":
            firstLine("/proc/device-tree/serial-number") ?? firstLine("/sys/firmware/devicetree/base/serial-number")
                ?? firstLine("/sys/class/dmi/id/product_serial")
        case "mac": macAddress()
        default: nil
        }
    }

    static func hostname() -> String? {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return nil }
        let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return text.isEmpty ? nil : text
    }

    /// The first line of a small file, without NULs (device-tree strings end with one) or spaces.
    public static func firstLine(_ path: String) -> String? {
        guard let bytes = try? readFile(path, limit: 4096) else { return nil }
        let line = bytes.prefix { $0 != 0x0a && $0 != 0 }.filter { $0 > 0x20 && $0 < 0x7f }
        return line.isEmpty ? nil : String(decoding: line, as: UTF8.self)
    }

    /// eth0's address, else the first interface's that is not loopback and not all zeros.
    static func macAddress() -> String? {
        if let mac = firstLine("/sys/class/net/eth0/address"), mac != "00:00:00:00:00:00" { return mac }
        guard let directory = try? Directory("/sys/class/net"), let names = try? directory.entries() else { return nil }
        for name in names.insertionSorted(by: <) where name != "lo" {
            if let mac = firstLine("/sys/class/net/" + name + "/address"), mac != "00:00:00:00:00:00" { return mac }
        }
        return nil
    }
}
