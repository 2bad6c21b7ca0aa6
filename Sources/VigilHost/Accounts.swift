// SPDX-License-Identifier: Apache-2.0
// OS accounts: one cached passwd/group lookup for the daemon (every hook call and session start
// needs the caller's name, home and groups), the kernel decider (audit subjects) and the hook.
import Glibc
import Synchronization

/// An OS account as NSS reports it.
public struct Account: Sendable, Hashable {
    public var uid: UInt32
    /// The primary group.
    public var gid: UInt32
    public var name: String
    public var home: String
    /// Names of every group the account is in (primary and supplementary), as getgrouplist(3) lists them.
    public var groups: [String]

    public init(uid: UInt32, gid: UInt32, name: String, home: String, groups: [String]) {
        self.uid = uid
        self.gid = gid
        self.name = name
        self.home = home
        self.groups = groups
    }
}

/// passwd and group lookups, cached per uid for `ttl` (NSS reads /etc/passwd and /etc/group on
/// every call) in a cache of at most `capacity` uids. Unknown uids are cached too.
public final class Accounts: Sendable {
    /// The process's cache: 60 s, 1024 uids.
    public static let shared = Accounts()

    /// The largest buffer a lookup grows to on ERANGE (glibc's own limit for a group line is similar).
    static let maximumBufferSize = 1 << 20

    public let ttl: Duration
    public let capacity: Int
    /// The first buffer size tried for getpwuid_r/getgrgid_r; doubled on ERANGE up to 1 MiB.
    public let initialBufferSize: Int
    private let cache = Mutex<[UInt32: (account: Account?, at: ContinuousClock.Instant)]>([:])

    public init(ttl: Duration = .seconds(60), capacity: Int = 1024, initialBufferSize: Int = 4096) {
        self.ttl = ttl
        self.capacity = max(capacity, 1)
        self.initialBufferSize = max(initialBufferSize, 1)
    }

    /// The account of `uid`, or nil when it has no passwd entry; cached.
    public func account(uid: UInt32) -> Account? {
        let now = ContinuousClock.now
        if let hit = cache.withLock({ $0[uid] }), now - hit.at < ttl { return hit.account }
        let account = Self.read(uid: uid, initialBufferSize: initialBufferSize)
        cache.withLock { cache in
            if cache[uid] == nil && cache.count >= capacity {
                cache = cache.filter { now - $0.value.at < ttl }
                if cache.count >= capacity { cache.removeAll() }
            }
            cache[uid] = (account, now)
        }
        return account
    }

    /// The account name of `uid`, or nil when it has none.
    public func name(of uid: UInt32) -> String? { account(uid: uid)?.name }

    /// How many uids the cache holds.
    public var cachedCount: Int { cache.withLock { $0.count } }

    /// Reads `uid`'s passwd entry and groups now (no cache).
    public static func read(uid: UInt32, initialBufferSize: Int = 4096) -> Account? {
        var entry: (name: String, home: String, gid: gid_t)?
        _ = withGrowingBuffer(initialBufferSize) { buffer in
            var pwd = passwd()
            var result: UnsafeMutablePointer<passwd>?
            let rc = getpwuid_r(uid, &pwd, buffer.baseAddress!, buffer.count, &result)
            if rc == 0, let found = result, let name = found.pointee.pw_name {
                entry = (String(cString: name), found.pointee.pw_dir.map { String(cString: $0) } ?? "/", found.pointee.pw_gid)
            }
            return rc
        }
        guard let entry else { return nil }
        return Account(
            uid: uid, gid: entry.gid, name: entry.name, home: entry.home,
            groups: groupNames(user: entry.name, gid: entry.gid, initialBufferSize: initialBufferSize))
    }

    /// The name of group `gid`, or nil.
    public static func groupName(of gid: UInt32, initialBufferSize: Int = 4096) -> String? {
        var name: String?
        _ = withGrowingBuffer(initialBufferSize) { buffer in
            var group = Glibc.group()
            var found: UnsafeMutablePointer<Glibc.group>?
            let rc = getgrgid_r(gid, &group, buffer.baseAddress!, buffer.count, &found)
            if rc == 0, let g = found, let n = g.pointee.gr_name { name = String(cString: n) }
            return rc
        }
        return name
    }

    private static func groupNames(user: String, gid: gid_t, initialBufferSize: Int) -> [String] {
        var count: Int32 = 64
        var gids = [gid_t](repeating: 0, count: Int(count))
        if getgrouplist(user, gid, &gids, &count) < 0 {
            gids = [gid_t](repeating: 0, count: Int(count))
            _ = getgrouplist(user, gid, &gids, &count)
        }
        return gids.prefix(Int(max(count, 0))).compactMap { groupName(of: $0, initialBufferSize: initialBufferSize) }
    }

    /// Calls `body` with a buffer of `initial` bytes, doubled while `body` returns ERANGE (the
    /// `_r` lookups' answer when a line does not fit), up to `maximumBufferSize`. Returns the last result.
    static func withGrowingBuffer(_ initial: Int, _ body: (UnsafeMutableBufferPointer<CChar>) -> Int32) -> Int32 {
        var size = max(initial, 1)
        while true {
            var buffer = [CChar](repeating: 0, count: size)
            let rc = buffer.withUnsafeMutableBufferPointer { body($0) }
            guard rc == ERANGE, size < maximumBufferSize else { return rc }
            size = min(size * 2, maximumBufferSize)
        }
    }
}
