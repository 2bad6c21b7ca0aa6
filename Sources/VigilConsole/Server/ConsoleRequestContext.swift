// SPDX-License-Identifier: Apache-2.0
// The request context: Hummingbird's, plus the channel, so the admin socket can ask the kernel who
// connected (SO_PEERCRED).
import Hummingbird
import NIOCore

public struct ConsoleRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}
