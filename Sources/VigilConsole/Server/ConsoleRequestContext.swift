// SPDX-License-Identifier: Apache-2.0
// The request context: Hummingbird's, plus the channel, so the admin socket can ask the kernel who
// connected (SO_PEERCRED), and the web session's admin once WebAuthMiddleware has found it.
import Hummingbird
import NIOCore

public struct ConsoleRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public let channel: any Channel
    var identity: WebIdentity?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}
