// SPDX-License-Identifier: Apache-2.0
// The bytes a response goes out as: its parts through NIO's encoder, as the server writes them. Apart
// from the other tests because NIOHTTP1's HTTPHeaders and HTTPVersion share names with Vigil's.

import NIOCore
import NIOEmbedded
import NIOHTTP1
@testable import VigilTransport

enum ResponseWire {
    static func bytes(_ response: VigilTransport.HTTPResponse, closing: Bool, version: VigilTransport.HTTPVersion, head: Bool) throws -> String {
        let channel = EmbeddedChannel(handler: HTTPResponseEncoder())
        let (responseHead, body) = response.parts(closing: closing, version: version, head: head)
        try channel.writeOutbound(HTTPServerResponsePart.head(responseHead))
        if let body { try channel.writeOutbound(HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(bytes: body)))) }
        try channel.writeOutbound(HTTPServerResponsePart.end(nil))
        var text = ""
        while var buffer = try channel.readOutbound(as: ByteBuffer.self) { text += buffer.readString(length: buffer.readableBytes) ?? "" }
        _ = try channel.finish()
        return text
    }
}
