// SPDX-License-Identifier: Apache-2.0
// The per-connection loop: read, parse, call the handler, write; keep-alive until the client closes, asks
// to close, times out, sends something unparseable, or the server stops.

import Glibc
import Synchronization

extension HTTPServer {
    func serve(_ connection: HTTPConnection, fd: Int32) {
        defer {
            unregister(connection.id)
            close(fd)
        }
        var parser = HTTPRequestParser(limits: .init(maxHeaderBytes: configuration.maxHeaderBytes, maxBodyBytes: configuration.maxBodyBytes))
        let timeout = POSIX.nanoseconds(configuration.idleTimeout)
        // One deadline per request: a client dripping a byte at a time cannot hold the thread beyond it.
        var deadline = POSIX.monotonicNanoseconds() + timeout
        var scratch = [UInt8](repeating: 0, count: 16 * 1024)

        while true {
            switch parser.next() {
            case .request(let request, let keepAlive):
                liveCounters.bump(.requests)
                let response = handler(request, connection)
                let closing = !keepAlive || response.closesConnection || stopping.load(ordering: .relaxed)
                let bytes = response.serialized(closing: closing, version: request.version, head: request.method == "HEAD")
                guard write(bytes, to: fd), !closing else { return }
                deadline = POSIX.monotonicNanoseconds() + timeout

            case .failure(let error):
                liveCounters.bump(error.isTooLarge ? .tooLarge : .badRequests)
                // The stream cannot be resynchronised after a framing error: answer, then close.
                _ = write(HTTPResponse.text(status: error.status, error.reason).serialized(closing: true, version: .http1_1, head: false), to: fd)
                return

            case .needMoreData:
                if stopping.load(ordering: .relaxed) && parser.isIdle { return }
                if parser.wantsContinue {
                    parser.continueSent()
                    guard write(Array("HTTP/1.1 100 Continue\r\n\r\n".utf8), to: fd) else { return }
                }
                switch POSIX.wait(fd, for: Int16(POLLIN), until: deadline) {
                case .ready: break
                case .timedOut:
                    liveCounters.bump(.idleTimeouts)
                    if !parser.isIdle {
                        _ = write(HTTPResponse.text(status: 408, "request not received in time").serialized(closing: true, version: .http1_1, head: false), to: fd)
                    }
                    return
                case .failed:
                    return
                }
                let received = scratch.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if received > 0 {
                    scratch.withUnsafeBytes { parser.append(UnsafeRawBufferPointer(rebasing: $0[0..<received])) }
                } else if received < 0 && (errno == EINTR || errno == EAGAIN) {
                    continue
                } else {
                    // End of file (client closed, or stop() shut the read side) or a reset.
                    if !parser.isIdle && !stopping.load(ordering: .relaxed) { liveCounters.bump(.incompleteRequests) }
                    return
                }
            }
        }
    }

    private func write(_ bytes: [UInt8], to fd: Int32) -> Bool {
        let failure = bytes.withUnsafeBytes { POSIX.sendAll(fd, $0) }
        if failure != 0 { liveCounters.bump(.writeFailures) }
        return failure == 0
    }
}
