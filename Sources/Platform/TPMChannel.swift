import CLibc
import Encoding

/// The byte stream a TPM 2.0 takes its commands on: the kernel's character device
/// (`/dev/tpmrm0`, or `/dev/tpm0` without the resource manager), or the TCP command port of
/// swtpm (`tcp:127.0.0.1:2321`), which takes the same raw command stream.
///
/// One command out, one response back; this layer knows only the response header's length
/// field, and bounds it, so a broken device or a hostile peer on the port cannot make the agent
/// allocate or wait without limit.
public final class TPMChannel {
    public enum Address: Equatable, Sendable {
        case device(String)
        case tcp(host: IPAddress, port: UInt16)

        /// `/dev/tpmrm0`, any absolute path, or `tcp:HOST:PORT` with a literal loopback address
        /// (a name would need the resolver, and a TPM is never reached through DNS).
        public init?(_ text: String) {
            if text.hasUTF8Prefix("/") {
                self = .device(text)
                return
            }
            guard text.hasUTF8Prefix("tcp:") else { return nil }
            let rest = Array(text.utf8.dropFirst(4))
            guard let colon = rest.lastIndex(of: UInt8(ascii: ":")) else { return nil }
            var host = String(decoding: rest[..<colon], as: UTF8.self)
            if host.hasUTF8Prefix("[") && host.hasUTF8Suffix("]") { host = host.droppingUTF8Prefix(1).droppingUTF8Suffix(1) }
            let portText = rest[(colon + 1)...]
            // Loopback only: the command stream carries authorization values, and the replies
            // content keys, in the clear (swtpm runs beside the agent, for tests and development).
            // The port as ServerURL reads one: at most five digits, 1 to 65535.
            guard let address = IPAddress(host), address.isLoopback, portText.count <= 5,
                  let port = Numbers.parseInt(portText, limit: 65535), port >= 1 else { return nil }
            self = .tcp(host: address, port: UInt16(port))
        }

        /// Whether a resource manager stands between us and the TPM, flushing what a client
        /// left loaded when it goes: the kernel's `tpmrm` devices do; `/dev/tpm0` and swtpm do not.
        public var hasResourceManager: Bool {
            if case .device(let path) = self { return fileName(of: path).hasUTF8Prefix("tpmrm") }
            return false
        }

        public var description: String {
            switch self {
            case .device(let path): path
            case .tcp(let host, let port): host.isIPv6 ? "tcp:[\(host)]:\(port)" : "tcp:\(host):\(port)"
            }
        }
    }

    /// A TPM 2.0 command or response is at most a few KiB (TPM2_PT_MAX_COMMAND_SIZE is 4096 on
    /// the chips and simulators we know); anything larger is not a TPM talking.
    public static let responseLimit = 8192
    static let headerSize = 10

    public let address: Address
    private var descriptor: Int32 = -1
    private var connection: TCPConnection?

    private init(address: Address) { self.address = address }

    deinit { close() }

    public func close() {
        if descriptor >= 0 {
            CLibc.close(descriptor)
            descriptor = -1
        }
        connection?.close()
        connection = nil
    }

    /// Opens the device (a character device only: a FIFO or a file in its place is refused
    /// rather than waited on), or connects to the port within `timeoutMilliseconds`.
    public static func open(_ address: Address, timeoutMilliseconds: Int64) throws(SystemError) -> TPMChannel {
        let channel = TPMChannel(address: address)
        switch address {
        case .device(let path):
            let descriptor = scep_open(path, O_RDWR | O_CLOEXEC | O_NONBLOCK | O_NOCTTY, 0)
            guard descriptor >= 0 else { throw SystemError.last("open", path: path) }
            var info = stat()
            guard fstat(descriptor, &info) == 0 else {
                let error = SystemError.last("fstat", path: path)
                CLibc.close(descriptor)
                throw error
            }
            guard scep_s_ischr(UInt32(info.st_mode)) != 0 else {
                CLibc.close(descriptor)
                throw SystemError("open", path: path, code: ENODEV, detail: .notACharacterDevice)
            }
            // The kernel runs a command within its own TPM timeouts when the write blocks.
            _ = scep_fcntl_setfl(descriptor, scep_fcntl_getfl(descriptor) & ~O_NONBLOCK)
            channel.descriptor = descriptor
        case .tcp(let host, let port):
            channel.connection = try TCPConnection.connect(to: [host], host: host.description, port: port,
                                                           timeoutMilliseconds: timeoutMilliseconds)
        }
        return channel
    }

    /// Sends one command and reads its whole response, header included, into `response`
    /// (at least `responseLimit` bytes); returns the response's length. Both buffers are the
    /// caller's, so a command carrying an authorization value, or a response carrying a content
    /// key, is never copied here. `deadline` bounds the wait on the TCP port; a device answers
    /// within the kernel driver's own timeouts.
    public func transmit(_ command: UnsafeBufferPointer<UInt8>, into response: UnsafeMutableBufferPointer<UInt8>,
                         deadline: Int64) throws(SystemError) -> Int {
        let name = address.description
        guard response.count >= TPMChannel.responseLimit, let base = response.baseAddress else {
            throw SystemError("read", path: name, code: EINVAL)
        }
        if let connection {
            try connection.send(UnsafeRawBufferPointer(command), deadline: deadline)
            try receiveExactly(connection, into: UnsafeMutableRawBufferPointer(start: base, count: TPMChannel.headerSize),
                               deadline: deadline)
            guard let size = TPMChannel.declaredSize(UnsafeBufferPointer(response)), size <= TPMChannel.responseLimit else {
                throw SystemError("receive", path: name, code: EPROTO, detail: .largerThan(limit: TPMChannel.responseLimit))
            }
            try receiveExactly(connection, into: UnsafeMutableRawBufferPointer(start: base + TPMChannel.headerSize,
                                                                               count: size - TPMChannel.headerSize),
                               deadline: deadline)
            return size
        }
        guard descriptor >= 0 else { throw SystemError("write", path: name, code: EBADF) }
        let written = write(descriptor, command.baseAddress, command.count)
        guard written == command.count else {
            throw written < 0 ? SystemError.last("write", path: name) : SystemError("write", path: name, code: EIO)
        }
        var count = 0
        while true {
            count = read(descriptor, base, TPMChannel.responseLimit)
            if count >= 0 || scep_errno() != EINTR { break }
        }
        guard count >= 0 else { throw SystemError.last("read", path: name) }
        guard count >= TPMChannel.headerSize, TPMChannel.declaredSize(UnsafeBufferPointer(response)) == count else {
            throw SystemError("read", path: name, code: EPROTO)
        }
        return count
    }

    /// The response header's big-endian size field (bytes 2 to 5), when it is at least a header
    /// and fits an Int on every target (a 32-bit Int cannot hold every UInt32).
    static func declaredSize(_ header: UnsafeBufferPointer<UInt8>) -> Int? {
        guard header.count >= headerSize else { return nil }
        let size = UInt32(header[2]) << 24 | UInt32(header[3]) << 16 | UInt32(header[4]) << 8 | UInt32(header[5])
        guard size >= UInt32(headerSize), size <= UInt32(responseLimit) else { return nil }
        return Int(size)
    }

    private func receiveExactly(_ connection: TCPConnection, into buffer: UnsafeMutableRawBufferPointer,
                                deadline: Int64) throws(SystemError) {
        var received = 0
        while received < buffer.count {
            let got = try connection.receive(into: UnsafeMutableRawBufferPointer(rebasing: buffer[received...]), deadline: deadline)
            guard got > 0 else { throw SystemError("receive", path: address.description, code: ECONNRESET) }
            received += got
        }
    }
}
