// SPDX-License-Identifier: Apache-2.0
// Test vectors copied from the RFCs' text, never computed here, with RFC 8792 `\` line wrapping
// undone. Source: the RFCs' final Markdown in github.com/httpwg/http-extensions, commit e9067eba
// ("Digest and Signatures published as RFCs"), archive/draft-ietf-httpbis-message-signatures.md
// (RFC 9421) and archive/draft-ietf-httpbis-digest-headers.md (RFC 9530); B.2.6 checked against
// the published RFC 9421 text as well.
import Foundation
import VigilSignatures

enum RFC9421 {
    // B.1.3 test-key-ecc-p256, JWK members (base64url).
    static let p256D = "UpuF81l-kOxbjf7T4mNSv0r5tN67Gim7rnf6EFpcYDs"
    static let p256X = "qIVYZVLCrPZHGHjP17CTW0_-D9Lfw0EkjqF7xB4FivA"
    static let p256Y = "Mc4nN9LTDOBhfoUeg8Ye9WedFRhnZXZJA12Qp0zZ6F0"

    // B.1.4 test-key-ed25519: the JWK members (base64url) and the PEM bodies (base64).
    static let ed25519D = "n4Ni-HpISpVObnQMW0wOhCKROaIKqKtW_2ZYb2p9KcU"
    static let ed25519X = "JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs"
    static let ed25519PrivatePEM = "MC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF"
    static let ed25519PublicPEM = "MCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs="

    // B.2 test-request.
    static let testRequestHeaders: [(name: String, value: String)] = [
        ("Host", "example.com"),
        ("Date", "Tue, 20 Apr 2021 02:07:55 GMT"),
        ("Content-Type", "application/json"),
        ("Content-Digest", "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:"),
        ("Content-Length", "18"),
    ]
    static let testRequestBody = #"{"hello": "world"}"#
    static var testRequest: SignableRequest {
        SignableRequest(method: "POST", authority: "example.com", path: "/foo", query: "param=Value&Pet=dog", headers: testRequestHeaders)
    }

    // B.2.6 Signing a Request Using ed25519.
    static let b26Components = ["date", "@method", "@path", "@authority", "content-type", "content-length"]
    static let b26SignatureParams =
        #"("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519""#
    static let b26SignatureBase = #"""
        "date": Tue, 20 Apr 2021 02:07:55 GMT
        "@method": POST
        "@path": /foo
        "@authority": example.com
        "content-type": application/json
        "content-length": 18
        "@signature-params": ("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"
        """#
    static let b26SignatureInput =
        #"sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519""#
    static let b26Signature = "sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:"
    static let b26SignatureBytes = "wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw=="

    // B.3 TLS-Terminating Proxies: the proxy's ecdsa-p256-sha256 signature (label ttrp).
    static let b3ClientCert =
        ":MIIBqDCCAU6gAwIBAgIBBzAKBggqhkjOPQQDAjA6MRswGQYDVQQKDBJMZXQncyBBdXRoZW50aWNhdGUxGzAZBgNVBAMMEkxBIEludGVybWVkaWF0ZSBDQTAeFw0yMDAxMTQyMjU1MzNa"
        + "Fw0yMTAxMjMyMjU1MzNaMA0xCzAJBgNVBAMMAkJDMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE8YnXXfaUgmnMtOXU/IncWalRhebrXmckC8vdgJ1p5Be5F/3YC8OthxM4+k1M6aEAEFcG"
        + "zkJiNy6J84y7uzo9M6NyMHAwCQYDVR0TBAIwADAfBgNVHSMEGDAWgBRm3WjLa38lbEYCuiCPct0ZaSED2DAOBgNVHQ8BAf8EBAMCBsAwEwYDVR0lBAwwCgYIKwYBBQUHAwIwHQYDVR0RAQH/"
        + "BBMwEYEPYmRjQGV4YW1wbGUuY29tMAoGCCqGSM49BAMCA0gAMEUCIBHda/r1vaL6G3VliL4/Di6YK0Q6bMjeSkC3dFCOOB8TAiEAx/kHSB4urmiZ0NX5r5XarmPk0wmuydBVoU4hBVZ1yhk=:"
    static var b3Request: SignableRequest {
        SignableRequest(
            method: "POST", authority: "service.internal.example", path: "/foo", query: "param=Value&Pet=dog",
            headers: [
                ("Host", "service.internal.example"), ("Date", "Tue, 20 Apr 2021 02:07:55 GMT"), ("Content-Type", "application/json"),
                ("Content-Length", "18"), ("Client-Cert", b3ClientCert),
                ("Signature-Input", #"ttrp=("@path" "@query" "@method" "@authority" "client-cert");created=1618884473;keyid="test-key-ecc-p256""#),
                ("Signature", "ttrp=:xVMHVpawaAC/0SbHrKRs9i8I3eOs5RtTMGCWXm/9nvZzoHsIg6Mce9315T6xoklyy0yzhD9ah4JHRwMLOgmizw==:"),
            ])
    }
    static let b3Components = ["@path", "@query", "@method", "@authority", "client-cert"]
    static let b3SignatureParams = #"("@path" "@query" "@method" "@authority" "client-cert");created=1618884473;keyid="test-key-ecc-p256""#
    static let b3SignatureBase =
        "\"@path\": /foo\n\"@query\": ?param=Value&Pet=dog\n\"@method\": POST\n\"@authority\": service.internal.example\n"
        + "\"client-cert\": \(b3ClientCert)\n" + "\"@signature-params\": \(b3SignatureParams)"
    static let b3SignatureBytes = "xVMHVpawaAC/0SbHrKRs9i8I3eOs5RtTMGCWXm/9nvZzoHsIg6Mce9315T6xoklyy0yzhD9ah4JHRwMLOgmizw=="

    // B.4 HTTP Message Transformations: one ed25519 signature, six versions of the request.
    static let b4SignatureInput = #"transform=("@method" "@path" "@authority" "accept");created=1618884473;keyid="test-key-ed25519""#
    static let b4Signature = "transform=:ZT1kooQsEHpZ0I1IjCqtQppOmIqlJPeo7DHR3SoMn0s5JZ1eRGS0A+vyYP9t/LXlh5QMFFQ6cpLt2m0pmj3NDA==:"
    static let b4SignatureBytes = "ZT1kooQsEHpZ0I1IjCqtQppOmIqlJPeo7DHR3SoMn0s5JZ1eRGS0A+vyYP9t/LXlh5QMFFQ6cpLt2m0pmj3NDA=="
    static let b4SignatureBase = #"""
        "@method": GET
        "@path": /demo
        "@authority": example.org
        "accept": application/json, */*
        "@signature-params": ("@method" "@path" "@authority" "accept");created=1618884473;keyid="test-key-ed25519"
        """#

    /// A B.4 request: method, Host (also the authority), query, and the other fields in order.
    static func b4Request(_ method: String, host: String, query: String, _ fields: [(name: String, value: String)]) -> SignableRequest {
        var headers = fields
        headers.append(("Signature-Input", b4SignatureInput))
        headers.append(("Signature", b4Signature))
        return SignableRequest(method: method, authority: host, path: "/demo", query: query, headers: headers)
    }

    /// The six messages of B.4, in the RFC's order, and whether the RFC says the signature holds.
    static var b4Messages: [(String, SignableRequest, Bool)] {
        let date = ("Date", "Fri, 15 Jul 2022 14:24:55 GMT")
        return [
            (
                "as signed",
                b4Request(
                    "GET", host: "example.org", query: "name1=Value1&Name2=value2",
                    [
                        ("Host", "example.org"), date, ("Accept", "application/json"), ("Accept", "*/*"),
                    ]), true
            ),
            (
                "Accept-Language and a query parameter added",
                b4Request(
                    "GET", host: "example.org", query: "name1=Value1&Name2=value2&param=added",
                    [
                        ("Host", "example.org"), date, ("Accept", "application/json"), ("Accept", "*/*"), ("Accept-Language", "en-US,en;q=0.5"),
                    ]), true
            ),
            (
                "Date removed, Referer added, Accept collapsed",
                b4Request(
                    "GET", host: "example.org", query: "name1=Value1&Name2=value2",
                    [
                        ("Host", "example.org"), ("Referer", "https://developer.example.org/demo"), ("Accept", "application/json, */*"),
                    ]), true
            ),
            (
                "fields reordered",
                b4Request(
                    "GET", host: "example.org", query: "name1=Value1&Name2=value2",
                    [
                        ("Accept", "application/json"), ("Accept", "*/*"), date, ("Host", "example.org"),
                    ]), true
            ),
            (
                "method and authority changed",
                b4Request(
                    "POST", host: "example.com", query: "name1=Value1&Name2=value2",
                    [
                        ("Host", "example.com"), date, ("Accept", "application/json"), ("Accept", "*/*"),
                    ]), false
            ),
            (
                "the two Accept fields swapped",
                b4Request(
                    "GET", host: "example.org", query: "name1=Value1&Name2=value2",
                    [
                        ("Host", "example.org"), date, ("Accept", "*/*"), ("Accept", "application/json"),
                    ]), false
            ),
        ]
    }
}

enum RFC9530 {
    // Appendix D, Sample Digest Values: over the JSON object {"hello": "world"} (no newline).
    static let helloWorld = #"{"hello": "world"}"#
    static let helloWorldSHA256 = ":X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"
    static let helloWorldSHA512 = ":WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:"
    // Appendix B.1-B.3: {"hello": "world"} followed by an LF, the empty content, and its bytes 10-18.
    static let helloWorldLF = "{\"hello\": \"world\"}\n"
    static let helloWorldLFSHA256 = "sha-256=:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg=:"
    static let emptySHA256 = "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:"
    static let partial = "\"world\"}\n"
    static let partialSHA256 = "sha-256=:jjcgBDWNAtbYUXI37CVG3gRuGOAjaaDRGpIUFsdyepQ=:"
}

/// Base64url (RFC 4648 §5), padding optional, as JWK members are written.
func base64URLDecode(_ text: String) -> [UInt8] {
    var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
    base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
    return Array(Data(base64Encoded: base64)!)
}

func base64Decode(_ text: String) -> [UInt8] {
    Array(Data(base64Encoded: text)!)
}
