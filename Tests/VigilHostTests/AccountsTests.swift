// SPDX-License-Identifier: Apache-2.0
import Glibc
import Testing
@testable import VigilHost

@Suite struct AccountsTests {
    /// What getpwuid(3) says, to compare with.
    static func passwdName(_ uid: UInt32) -> String? {
        guard let entry = getpwuid(uid), let name = entry.pointee.pw_name else { return nil }
        return String(cString: name)
    }

    @Test func rootExistsWithItsHomeAndGroup() throws {
        let root = try #require(Accounts.read(uid: 0))
        #expect(root.name == Self.passwdName(0))
        #expect(root.name == "root")
        #expect(root.home == String(cString: getpwuid(0).pointee.pw_dir))
        #expect(root.gid == 0)
        #expect(root.groups.contains(try #require(Accounts.groupName(of: 0))))
    }

    @Test func theCallingUserIsFound() throws {
        let uid = geteuid()
        let account = try #require(Accounts.shared.account(uid: uid))
        #expect(account.uid == uid)
        #expect(account.name == Self.passwdName(uid))
        #expect(Accounts.shared.name(of: uid) == account.name)
    }

    @Test func aUIDWithoutAnEntryIsNil() {
        let uid: UInt32 = 3_999_999_937
        #expect(Self.passwdName(uid) == nil, "the test needs a uid without a passwd entry")
        #expect(Accounts.read(uid: uid) == nil)
        #expect(Accounts.shared.account(uid: uid) == nil)
        #expect(Accounts.shared.name(of: uid) == nil)
    }

    /// A 1-byte buffer cannot hold root's line: getpwuid_r answers ERANGE, and the lookup grows the buffer.
    @Test func aBufferTooSmallIsGrownOnERANGE() throws {
        var pwd = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var tiny = [CChar](repeating: 0, count: 1)
        #expect(getpwuid_r(0, &pwd, &tiny, tiny.count, &result) == ERANGE, "the retry path must be the one taken")
        let root = try #require(Accounts.read(uid: 0, initialBufferSize: 1))
        #expect(root.name == "root")
        #expect(root.groups == Accounts.read(uid: 0)?.groups)
        #expect(Accounts(initialBufferSize: 1).name(of: 0) == "root")
    }

    @Test func growingStopsAtTheLimitAndPassesOtherAnswersThrough() {
        var sizes: [Int] = []
        let rc = Accounts.withGrowingBuffer(1) { buffer in
            sizes.append(buffer.count)
            return ERANGE
        }
        #expect(rc == ERANGE)
        #expect(sizes.first == 1)
        #expect(sizes.last == Accounts.maximumBufferSize)
        #expect(zip(sizes, sizes.dropFirst()).allSatisfy { $1 == $0 * 2 })
        var calls = 0
        #expect(
            Accounts.withGrowingBuffer(16) { _ in
                calls += 1; return ENOENT
            } == ENOENT)
        #expect(calls == 1)
    }

    @Test func theCacheIsBounded() {
        let accounts = Accounts(capacity: 3)
        for uid in UInt32(0)..<10 { _ = accounts.account(uid: 3_999_999_000 + uid) }
        #expect(accounts.cachedCount <= 3)
        #expect(accounts.cachedCount >= 1)
    }

    @Test func entriesExpireAfterTheTTL() {
        let fresh = Accounts(ttl: .seconds(3600))
        #expect(fresh.name(of: 0) == "root")
        #expect(fresh.cachedCount == 1)
        // With a zero TTL every lookup reads again, and the entry is replaced, not added.
        let expiring = Accounts(ttl: .zero, capacity: 1)
        #expect(expiring.name(of: 0) == "root")
        #expect(expiring.name(of: 0) == "root")
        #expect(expiring.name(of: 3_999_999_937) == nil)
        #expect(expiring.cachedCount == 1)
    }
}
