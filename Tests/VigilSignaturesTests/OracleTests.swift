// SPDX-License-Identifier: Apache-2.0
// Interop with an independent implementation: PyPI's http-message-signatures 3.0.0 (Oracle/oracle.py,
// in the venv `make pytools` builds) signs and Swift verifies, Swift signs and Python verifies.
// Without the venv these tests fail, naming the make target: they are never skipped.
import Crypto
import Foundation
import Testing
import VigilSignatures

enum Oracle {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let python = packageRoot.appendingPathComponent(".output/py-venv/bin/python")
    static let script = packageRoot.appendingPathComponent("Tests/VigilSignaturesTests/Oracle/oracle.py")

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Runs `oracle.py command` with `job` as JSON on stdin; its JSON answer.
    static func run(_ command: String, _ job: [String: Any]) throws -> [String: Any] {
        guard FileManager.default.isExecutableFile(atPath: python.path) else {
            throw Failure(description: "the Python oracle \(python.path) is missing: run `make pytools`")
        }
        let process = Process()
        process.executableURL = python
        process.arguments = [script.path, command]
        let input = Pipe(), output = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        input.fileHandleForWriting.write(try JSONSerialization.data(withJSONObject: job))
        try input.fileHandleForWriting.close()
        let answer = output.fileHandleForReading.readDataToEndOfFile()
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0, let object = try JSONSerialization.jsonObject(with: answer) as? [String: Any] else {
            throw Failure(description: "oracle.py \(command) exited \(process.terminationStatus): \(stderr)")
        }
        return object
    }

    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        bytes.map { String(format: "%02x", $0) }.joined()
    }
}

@Suite("Interop with http-message-signatures (Python)", .serialized)
struct OracleTests {
    struct Device {
        let name: String
        let signing: any MessageSigningKey
        let publicKey: MessageVerificationKey
        let privateHex: String
        let publicHex: String

        static let p256: Device = {
            let key = P256SigningKey(P256.Signing.PrivateKey())
            return Device(
                name: "ecdsa-p256-sha256", signing: key, publicKey: key.publicKey, privateHex: Oracle.hex(key.privateKey.rawRepresentation),
                publicHex: Oracle.hex(key.privateKey.publicKey.x963Representation))
        }()
        static let ed25519: Device = {
            let key = Ed25519SigningKey(Curve25519.Signing.PrivateKey())
            return Device(
                name: "ed25519", signing: key, publicKey: key.publicKey, privateHex: Oracle.hex(key.privateKey.rawRepresentation),
                publicHex: Oracle.hex(key.privateKey.publicKey.rawRepresentation))
        }()
    }

    static let body = Array(#"{"device":"laptop-7","posture":{"disk":"encrypted"}}"#.utf8)
    static let url = "https://console.example:8443/api/v1/devices/laptop-7?since=5"

    static func request(_ headers: [(name: String, value: String)], path: String = "/api/v1/devices/laptop-7") -> SignableRequest {
        SignableRequest(method: "POST", authority: "console.example:8443", path: path, query: "since=5", headers: headers)
    }

    /// Python signs a request; its headers, as requests would send them.
    static func pythonSigned(_ device: Device, digest: String, nonce: String, created: Int64) throws -> [(name: String, value: String)] {
        let answer = try Oracle.run(
            "sign",
            [
                "alg": device.name, "private_key": device.privateHex, "keyid": device.publicKey.keyID, "method": "POST", "url": url,
                "headers": [["Content-Type", "application/json"]], "body": Data(body).base64EncodedString(), "created": created,
                "nonce": nonce, "label": "sig1", "components": ["@method", "@authority", "@path", "@query"], "digest": digest,
            ])
        let pairs = try #require(answer["headers"] as? [[String]])
        return pairs.map { ($0[0], $0[1]) }
    }

    @Test(arguments: [("p256", "sha-256"), ("p256", "sha-512"), ("ed25519", "sha-256")])
    func pythonSignsAndSwiftVerifies(_ algorithm: String, _ digest: String) throws {
        let device = algorithm == "p256" ? Device.p256 : Device.ed25519
        let nonce = MessageSigner.randomNonce()
        let headers = try Self.pythonSigned(device, digest: digest, nonce: nonce, created: 1_760_000_000)
        let request = Self.request(headers)
        // Python writes its parameters in another order than MessageSigner: the received order is what verifies.
        let input = try #require(request.fieldValue("signature-input"))
        #expect(input.contains(";created=1760000000;keyid=\"\(device.publicKey.keyID)\";alg=\"\(device.name)\";nonce=\"\(nonce)\""), "\(input)")

        let verifier = MessageVerifier(nonces: NonceCache())
        let verified = try verifier.verify(request, now: 1_760_000_010) { $0 == device.publicKey.keyID ? device.publicKey : nil }
        #expect(verified.label == "sig1" && verified.nonce == nonce && verified.created == 1_760_000_000)
        #expect(verified.components == ["@method", "@authority", "@path", "@query", "content-digest"])
        let contentDigest = try #require(request.fieldValue("content-digest"))
        #expect(contentDigest.hasPrefix("\(digest)=:"))
        try ContentDigest.verify(header: contentDigest, body: Self.body)

        // The oracle's signature is not vacuously accepted: another path fails.
        let tampered = Self.request(headers, path: "/api/v1/devices/laptop-8")
        #expect(throws: SignatureError.invalidSignature) {
            try MessageVerifier(nonces: NonceCache()).verify(tampered, now: 1_760_000_010) { _ in device.publicKey }
        }
    }

    /// Swift signs; Python verifies (against its own clock: `created` is now).
    static func pythonVerifies(_ device: Device, _ request: SignableRequest, url: String = url, body: [UInt8] = body) throws -> [String: Any] {
        try Oracle.run(
            "verify",
            [
                "alg": device.name, "public_key": device.publicHex, "keyid": device.publicKey.keyID, "method": request.method, "url": url,
                "headers": request.headers.map { [$0.name, $0.value] }, "body": Data(body).base64EncodedString(),
                "required": ["@method", "@authority", "@path", "content-digest"], "max_age": 300,
            ])
    }

    @Test(arguments: ["p256", "ed25519"])
    func swiftSignsAndPythonVerifies(_ algorithm: String) throws {
        let device = algorithm == "p256" ? Device.p256 : Device.ed25519
        var request = Self.request([("Content-Type", "application/json"), ("Content-Digest", ContentDigest.header(for: Self.body))])
        let signer = MessageSigner(key: device.signing, keyID: device.publicKey.keyID)
        let (input, signature) = try signer.sign(request, created: Int64(Date().timeIntervalSince1970), nonce: "swift-nonce")
        request.headers += [("Signature-Input", input), ("Signature", signature)]

        let answer = try Self.pythonVerifies(device, request)
        #expect(answer["ok"] as? Bool == true, "\(answer)")
        #expect(answer["label"] as? String == "sig1" && answer["nonce"] as? String == "swift-nonce")
        #expect(answer["body_checked"] as? Bool == true, "Python checked our Content-Digest against the body")
        #expect(
            answer["covered"] as? [String] == [
                "\"@method\"", "\"@authority\"", "\"@path\"", "\"@query\"", "\"content-digest\"", "\"@signature-params\"",
            ])

        // And Python refuses what it should: another path, another body.
        let otherPath = try Self.pythonVerifies(device, request, url: "https://console.example:8443/api/v1/devices/laptop-8?since=5")
        #expect(otherPath["ok"] as? Bool == false, "\(otherPath)")
        let otherBody = try Self.pythonVerifies(device, request, body: Self.body + Array(" ".utf8))
        #expect(otherBody["ok"] as? Bool == false, "\(otherBody)")
    }
}
