// SPDX-License-Identifier: Apache-2.0
// Who is asking: every device request carries an RFC 9421 signature by the device key over method,
// authority, path and Content-Digest (RFC 9530), with `created` and a nonce. A request is refused
// when the digest does not match its body, the signature does not verify, it is stale or replayed,
// the key is unknown, or the device is revoked. Behind several replicas the nonce is also spent in
// the shared store (SharedNonces), so a request one replica accepted is a replay to the others.
import Hummingbird
import NIOCore
import VigilSignatures
import HTTPTypes
import Synchronization

struct DeviceAuthenticator: Sendable {
    let store: any ConsoleStore
    let verifier: MessageVerifier
    let shared: (any SharedNonces)?
    private let keys = EnrolledKeys()

    init(store: any ConsoleStore, skew: Int64, maxAge: Int64, shared: (any SharedNonces)? = nil) {
        self.store = store
        verifier = MessageVerifier(maxSkew: skew, maxAge: maxAge, nonces: NonceCache(window: maxAge + skew + 60))
        self.shared = shared
    }

    /// The request as RFC 9421 sees it.
    static func signable(_ request: Request) -> SignableRequest {
        SignableRequest(
            method: request.method.rawValue, authority: request.head.authority ?? "", path: request.uri.path,
            query: request.uri.query, headers: request.headers.map { (name: $0.name.rawName, value: $0.value) })
    }

    /// Checks the body's Content-Digest; the signature covers the header, this binds it to the bytes.
    static func checkDigest(_ request: Request, body: ByteBuffer) throws {
        guard let header = request.headers[HTTPField.Name("Content-Digest")!] else {
            throw Refusal(.badRequest, "missing_digest", "the request has no Content-Digest header (RFC 9530)")
        }
        do {
            try ContentDigest.verify(header: header, body: Array(body.readableBytesView))
        } catch {
            throw Refusal(.badRequest, "bad_digest", "Content-Digest does not match the body: \(error)")
        }
    }

    /// Verifies the signature against `key` (enrolment: the key the body registers).
    func verify(_ request: Request, key: MessageVerificationKey, now: Int64) async throws -> VerifiedSignature {
        let verified: VerifiedSignature
        do throws(SignatureError) {
            verified = try verifier.verify(Self.signable(request), now: now) { $0 == key.keyID ? key : nil }
        } catch {
            throw Self.refusal(error)
        }
        try await spendShared(verified, now: now)
        return verified
    }

    /// The nonce, already new to this replica's cache, spent where the other replicas look too.
    private func spendShared(_ verified: VerifiedSignature, now: Int64) async throws {
        guard let shared else { return }
        guard try await shared.spend(nonce: verified.nonce, keyID: verified.keyID, now: now, window: verifier.nonces.window) else {
            throw Self.refusal(.replayed(nonce: verified.nonce))
        }
    }

    /// Verifies the signature of an enrolled device and returns it; revoked devices are refused.
    func authenticate(_ request: Request, now: Int64) async throws -> (DeviceStanding, VerifiedSignature) {
        let signable = Self.signable(request)
        // The key lookup is asynchronous and verify's is not: the key id the request names first,
        // then the store, then the verification against the enrolled key.
        let keyID: String
        do throws(SignatureError) {
            keyID = try MessageVerifier.namedKeyID(signable)
        } catch {
            throw Self.refusal(error)
        }
        // A key id names its key for good (it is the key's hash), so an enrolled key is kept here;
        // the device's standing, which revocation changes, is read on every request.
        var device: DeviceStanding? = nil
        let key: MessageVerificationKey
        if let known = keys[keyID] {
            key = known
        } else {
            device = try await store.standing(keyID: keyID)
            guard let device, let parsed = try? MessageVerificationKey(encoded: device.publicKey), parsed.keyID == keyID else {
                throw Self.refusal(.unknownKey(keyID))
            }
            key = parsed
            keys.keep(parsed)
        }
        let verified: VerifiedSignature
        do throws(SignatureError) {
            verified = try verifier.verify(signable, now: now) { $0 == keyID ? key : nil }
        } catch {
            throw Self.refusal(error)
        }
        if let shared {
            // Behind replicas: the nonce spent and the device read in one round trip.
            let (fresh, current) = try await shared.spendReadingDevice(
                nonce: verified.nonce, keyID: keyID, now: now, window: verifier.nonces.window)
            guard fresh else { throw Self.refusal(.replayed(nonce: verified.nonce)) }
            device = current
        } else if device == nil {
            device = try await store.standing(keyID: keyID)
        }
        guard let device else { throw Self.refusal(.unknownKey(keyID)) }
        if let revokedAt = device.revokedAt {
            throw Refusal(
                .forbidden, "device_revoked", "device \(device.id) was revoked at \(revokedAt): \(device.revokedReason ?? "no reason given")")
        }
        return (device, verified)
    }

    static func refusal(_ error: SignatureError) -> Refusal {
        switch error {
        case .unknownKey: Refusal(.unauthorized, "unknown_key", error.description)
        case .replayed: Refusal(.unauthorized, "replayed", error.description)
        case .createdInFuture, .expired: Refusal(.unauthorized, "stale_signature", error.description)
        case .missingHeader: Refusal(.unauthorized, "unsigned", error.description)
        default: Refusal(.unauthorized, "bad_signature", error.description)
        }
    }
}

/// Enrolled keys by key id, each parsed once.
private final class EnrolledKeys: Sendable {
    /// More than any fleet one console serves: past it the map starts again (it is only a cache).
    static let limit = 100_000
    private let keys = Mutex<[String: MessageVerificationKey]>([:])

    subscript(keyID: String) -> MessageVerificationKey? { keys.withLock { $0[keyID] } }

    func keep(_ key: MessageVerificationKey) {
        keys.withLock { keys in
            if keys.count >= Self.limit { keys.removeAll(keepingCapacity: true) }
            keys[key.keyID] = key
        }
    }
}
