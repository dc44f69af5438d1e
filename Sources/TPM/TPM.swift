import Crypto
import Platform

/// A TPM 2.0 as the agent uses it: where it is, the owner hierarchy's authorization, and the
/// sessions that make, load and use device keys under the storage root.
///
/// Each use opens the device, recreates the storage root from its template, loads the key,
/// does one thing and flushes both before closing: no handle outlives the operation, so a
/// process forked meanwhile (the network process, a hook) inherits no open TPM, and a killed
/// agent leaves nothing loaded behind a resource manager. Without one (`/dev/tpm0`, swtpm's
/// port) the agent is the TPM's only client, and flushes what a killed run left first.
public final class TPM {
    public let address: TPMChannel.Address
    private let ownerAuth: SecretBytes
    private let connect: () throws(TPMError) -> TPMConnection

    /// How long one operation (a key made, a signature) may take on the TCP port: RSA key
    /// generation on a slow TPM takes tens of seconds. A device answers within the kernel
    /// driver's own timeouts.
    static let operationTimeoutMilliseconds: Int64 = 180_000
    static let connectTimeoutMilliseconds: Int64 = 10_000

    /// `ownerAuth` is the owner hierarchy's authorization value; empty, as a TPM is provisioned
    /// by default, unless the device maker set one.
    public convenience init(address: TPMChannel.Address, ownerAuth: SecretBytes? = nil) {
        self.init(address: address, ownerAuth: ownerAuth) { () throws(TPMError) -> TPMConnection in
            let channel: TPMChannel
            do throws(SystemError) {
                channel = try TPMChannel.open(address, timeoutMilliseconds: TPM.connectTimeoutMilliseconds)
            } catch {
                throw TPMError(.device(error))
            }
            // One deadline for the whole operation: a stalled peer holds the agent once, not
            // once per command.
            let deadline = monotonicMilliseconds() + TPM.operationTimeoutMilliseconds
            return TPMConnection(exchange: { (command, response) throws(TPMError) -> Int in
                do throws(SystemError) {
                    return try command.withBytes { (out) throws(SystemError) -> Int in
                        try response.withMutableBytes { (into) throws(SystemError) -> Int in
                            try channel.transmit(out, into: into, deadline: deadline)
                        }
                    }
                } catch {
                    throw TPMError(.device(error))
                }
            }, close: { channel.close() })
        }
    }

    /// A TPM reached through `connect` (tests: a scripted peer).
    public init(address: TPMChannel.Address, ownerAuth: SecretBytes? = nil,
                connect: @escaping () throws(TPMError) -> TPMConnection) {
        self.address = address
        self.ownerAuth = ownerAuth ?? SecretBytes([])
        self.connect = connect
    }

    deinit { ownerAuth.wipe() }

    /// A new device key made inside the TPM under the storage root. Its private part never
    /// leaves the TPM unencrypted; the key file holds what loads it again.
    public func generate(_ type: KeyType) throws(TPMError) -> TPMKey {
        guard let template = TPMPublicArea.deviceKey(type) else { throw TPMError(.unsupportedKeyFile("an unsupported key type")) }
        let blobs = try session { (commands) throws(TPMError) in
            try withStorageRoot(commands) { (root) throws(TPMError) in try commands.create(under: root, template) }
        }
        let file = try TPMKeyFile(publicBlob: blobs.public, privateBlob: blobs.private)
        guard file.publicArea.isInstance(of: template) else { throw TPMError(.unexpectedKey, command: "TPM2_Create") }
        return try TPMKey(tpm: self, file: file)
    }

    /// The key a keystore generation names, from its key file. Nothing is sent to the TPM until
    /// the key is used.
    public func load(keyFile bytes: [UInt8]) throws(TPMError) -> TPMKey {
        let file = try TPMKeyFile(parsing: bytes)
        guard let type = file.publicArea.keyType, let template = TPMPublicArea.deviceKey(type),
              file.publicArea.isInstance(of: template) else {
            throw TPMError(.unsupportedKeyFile("not a device key this agent makes"))
        }
        return try TPMKey(tpm: self, file: file)
    }

    /// Loads the key under the storage root, runs `body` with its handle, and flushes both.
    func withLoadedKey<Result>(_ file: TPMKeyFile,
                               _ body: (TPMCommands, UInt32) throws(TPMError) -> Result) throws(TPMError) -> Result {
        try session { (commands) throws(TPMError) in
            try withStorageRoot(commands) { (root) throws(TPMError) in
                let handle = try commands.load(under: root, privateBlob: file.privateBlob, publicBlob: file.publicBlob)
                defer { _ = try? commands.flush(handle) }
                return try body(commands, handle)
            }
        }
    }

    private func session<Result>(_ body: (TPMCommands) throws(TPMError) -> Result) throws(TPMError) -> Result {
        let connection = try connect()
        defer { connection.close() }
        let commands = TPMCommands(connection: connection)
        if !address.hasResourceManager {
            // What a killed run left loaded would fill the TPM's few object slots.
            for handle in try commands.transientHandles() { _ = try? commands.flush(handle) }
        }
        return try body(commands)
    }

    private func withStorageRoot<Result>(_ commands: TPMCommands,
                                         _ body: (UInt32) throws(TPMError) -> Result) throws(TPMError) -> Result {
        let root = try commands.createPrimary(.storageRoot, ownerAuth: ownerAuth)
        defer { _ = try? commands.flush(root.handle) }
        guard root.public.isInstance(of: .storageRoot) else { throw TPMError(.unexpectedKey, command: "TPM2_CreatePrimary") }
        return try body(root.handle)
    }
}
