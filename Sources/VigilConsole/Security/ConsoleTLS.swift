// SPDX-License-Identifier: Apache-2.0
// The console's TLS identity: given files, or a self-signed certificate made once under the state
// directory. Devices do not consult a CA: enrolment tokens carry the SHA-256 pin of this certificate.
import NIOCore
import Crypto
import Foundation
import NIOSSL
import SwiftASN1
import X509

public struct ConsoleTLS: Sendable {
    public let certificateDER: [UInt8]
    public let configuration: TLSConfiguration

    /// `sha256:<hex>` of the certificate's DER: what tokens pin.
    public var pin: String { Self.pin(ofDER: certificateDER) }

    public static func pin(ofDER der: [UInt8]) -> String {
        "sha256:" + SHA256.hash(data: der).map { String(format: "%02x", $0) }.joined()
    }

    public static func load(_ source: ConsoleConfiguration.TLSSource, stateDirectory: String, hostnames: [String]) throws -> ConsoleTLS {
        let certificatePath: String
        let keyPath: String
        switch source {
        case .files(let certificate, let key):
            certificatePath = certificate
            keyPath = key
        case .selfSigned:
            certificatePath = stateDirectory + "/tls-cert.pem"
            keyPath = stateDirectory + "/tls-key.pem"
            if try ConsoleFiles.readSecret(keyPath) == nil {
                try makeSelfSigned(certificatePath: certificatePath, keyPath: keyPath, hostnames: hostnames)
            }
        }
        guard let keyPEM = try ConsoleFiles.readSecret(keyPath) else { throw ConsoleSetupError("TLS key \(keyPath) does not exist") }
        let chain: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificatePath)
        } catch {
            throw ConsoleSetupError("TLS certificate \(certificatePath) does not load: \(error)")
        }
        do {
            key = try NIOSSLPrivateKey(bytes: Array(keyPEM.utf8), format: .pem)
        } catch {
            throw ConsoleSetupError("TLS key \(keyPath) does not load: \(error)")
        }
        guard let leaf = chain.first, let der = try? leaf.toDERBytes() else {
            throw ConsoleSetupError("TLS certificate \(certificatePath) holds no certificate")
        }
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        // Closing (at shutdown, or an idle kept-alive device connection) waits this long for the
        // device's close_notify, not NIOSSL's 5 s: the console reads nothing more on that connection.
        configuration.shutdownTimeout = .milliseconds(500)
        configuration.minimumTLSVersion = .tlsv12
        return ConsoleTLS(certificateDER: der, configuration: configuration)
    }

    /// A P-256 self-signed server certificate for `hostnames` (DNS names or IP literals), valid five years.
    static func makeSelfSigned(certificatePath: String, keyPath: String, hostnames: [String]) throws {
        let key = P256.Signing.PrivateKey()
        do {
            let name = try DistinguishedName { CommonName("vigil-console") }
            let now = Date()
            var names: [GeneralName] = []
            for host in Set(hostnames + ["localhost", "127.0.0.1", "::1"]).sorted() {
                if let address = ipBytes(host) {
                    names.append(.ipAddress(ASN1OctetString(contentBytes: ArraySlice(address))))
                } else {
                    names.append(.dnsName(host))
                }
            }
            let extensions = try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames(names)
            }
            let certificate = try Certificate(
                version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(key.publicKey),
                notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(5 * 365 * 86400), issuer: name,
                subject: name, signatureAlgorithm: .ecdsaWithSHA256, extensions: extensions, issuerPrivateKey: .init(key))
            try ConsoleFiles.writeSecret(keyPath, key.pemRepresentation)
            try ConsoleFiles.writePublic(certificatePath, try certificate.serializeAsPEM().pemString + "\n")
        } catch let error as ConsoleSetupError {
            throw error
        } catch {
            throw ConsoleSetupError("cannot make a self-signed TLS certificate: \(error)")
        }
    }

    private static func ipBytes(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }
}
