// SPDX-License-Identifier: Apache-2.0
// The event-stream parser: events split anywhere across reads, CRLF, comments, several data lines.
import Testing
import VigilFleet

@Test func eventsSurviveAnySplitOfTheStream() {
    let stream = Array(": hello\r\nevent: policy\r\nid: 3\r\ndata: {\"version\":3}\r\n\r\n: heartbeat\n\ndata: a\ndata: b\n\n".utf8)
    let expected = [
        ServerSentEvent(event: "policy", data: #"{"version":3}"#, id: "3"), ServerSentEvent(event: "message", data: "a\nb", id: "3"),
    ]
    for cut in 0...stream.count {
        var parser = ServerSentEventParser()
        let events = parser.feed(Array(stream[..<cut])) + parser.feed(Array(stream[cut...]))
        #expect(events == expected, "split at \(cut)")
    }
}

@Test func anOverlongLineIsDroppedNotBuffered() {
    var parser = ServerSentEventParser()
    #expect(parser.feed(Array(repeating: 0x61, count: ServerSentEventParser.maxLineBytes + 1)).isEmpty)
    #expect(parser.feed(Array("\ndata: x\n\n".utf8)) == [ServerSentEvent(event: "message", data: "x", id: nil)])
}
