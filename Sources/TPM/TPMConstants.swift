/// The TPM 2.0 numbers the agent uses, by their names in TPM 2.0 Part 2 ("Structures").

enum TPMTag {
    static let noSessions: UInt16 = 0x8001
    static let sessions: UInt16 = 0x8002
    static let hashCheck: UInt16 = 0x8024
}

enum TPMCommandCode {
    static let createPrimary: UInt32 = 0x0000_0131
    static let create: UInt32 = 0x0000_0153
    static let ecdhZGen: UInt32 = 0x0000_0154
    static let load: UInt32 = 0x0000_0157
    static let rsaDecrypt: UInt32 = 0x0000_0159
    static let sign: UInt32 = 0x0000_015D
    static let flushContext: UInt32 = 0x0000_0165
    static let readPublic: UInt32 = 0x0000_0173
    static let getCapability: UInt32 = 0x0000_017A
}

enum TPMAlgorithm {
    static let rsa: UInt16 = 0x0001
    static let sha256: UInt16 = 0x000B
    static let sha384: UInt16 = 0x000C
    static let aes: UInt16 = 0x0006
    static let null: UInt16 = 0x0010
    static let rsassa: UInt16 = 0x0014
    static let rsaes: UInt16 = 0x0015
    static let ecdsa: UInt16 = 0x0018
    static let ecc: UInt16 = 0x0023
    static let cfb: UInt16 = 0x0043
}

enum TPMCurve {
    static let nistP256: UInt16 = 0x0003
    static let nistP384: UInt16 = 0x0004
}

enum TPMHandle {
    static let owner: UInt32 = 0x4000_0001
    static let null: UInt32 = 0x4000_0007
    static let passwordSession: UInt32 = 0x4000_0009
    /// Transient objects live in 0x80xxxxxx, persistent ones in 0x81xxxxxx.
    static let firstTransient: UInt32 = 0x8000_0000
    static let firstPersistent: UInt32 = 0x8100_0000
    static let lastPersistent: UInt32 = 0x81FF_FFFF
}

/// TPMA_OBJECT bits.
enum TPMObjectAttribute {
    static let fixedTPM: UInt32 = 1 << 1
    static let fixedParent: UInt32 = 1 << 4
    static let sensitiveDataOrigin: UInt32 = 1 << 5
    static let userWithAuth: UInt32 = 1 << 6
    static let noDA: UInt32 = 1 << 10
    static let restricted: UInt32 = 1 << 16
    static let decrypt: UInt32 = 1 << 17
    static let sign: UInt32 = 1 << 18
}

enum TPMCapability {
    static let handles: UInt32 = 0x0000_0001
}
