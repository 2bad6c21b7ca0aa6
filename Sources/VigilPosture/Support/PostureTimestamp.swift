// SPDX-License-Identifier: Apache-2.0
// Vigil — device posture.
// Fixed-format UTC timestamps ("2026-11-22T02:03:14.123Z") and civil-date arithmetic, written out so
// the snapshot hash never depends on a locale, a time zone or a date formatter's version.

import Foundation

/// Formatting and parsing of the one timestamp form posture snapshots use, plus calendar helpers.
public enum PostureTimestamp {
    /// `date` truncated to whole milliseconds: the precision a snapshot keeps, so it round-trips exactly.
    public static func truncatedToMilliseconds(_ date: Date) -> Date {
        Date(timeIntervalSince1970: Double(milliseconds(date)) / 1000)
    }

    /// `yyyy-MM-ddTHH:mm:ss.SSSZ` in UTC.
    public static func format(_ date: Date) -> String {
        let ms = milliseconds(date)
        let seconds = ms.floorDiv(1000)
        let days = seconds.floorDiv(86_400)
        let secondOfDay = seconds - days * 86_400
        let (year, month, day) = civil(fromDays: days)
        return pad(year, 4) + "-" + pad(month, 2) + "-" + pad(day, 2) + "T"
            + pad(secondOfDay / 3600, 2) + ":" + pad(secondOfDay % 3600 / 60, 2) + ":" + pad(secondOfDay % 60, 2)
            + "." + pad(ms - seconds * 1000, 3) + "Z"
    }

    /// Parses what ``format(_:)`` writes; `nil` for anything else.
    public static func parse(_ text: String) -> Date? {
        let parts = Array(text.utf8)
        guard parts.count == 24, parts[4] == UInt8(ascii: "-"), parts[7] == UInt8(ascii: "-"),
            parts[10] == UInt8(ascii: "T"), parts[13] == UInt8(ascii: ":"), parts[16] == UInt8(ascii: ":"),
            parts[19] == UInt8(ascii: "."), parts[23] == UInt8(ascii: "Z"),
            let year = number(parts[0..<4]), let month = number(parts[5..<7]), let day = number(parts[8..<10]),
            let hour = number(parts[11..<13]), let minute = number(parts[14..<16]),
            let second = number(parts[17..<19]), let milli = number(parts[20..<23]),
            let seconds = epochSeconds(year: year, month: month, day: day, hour: hour, minute: minute, second: second)
        else { return nil }
        return Date(timeIntervalSince1970: Double(seconds * 1000 + milli) / 1000)
    }

    /// Seconds since 1970 for a UTC civil time, or `nil` if a field is out of range.
    public static func epochSeconds(year: Int, month: Int, day: Int, hour: Int = 0, minute: Int = 0, second: Int = 0) -> Int? {
        guard (1...12).contains(month), (1...31).contains(day), (0...23).contains(hour), (0...59).contains(minute),
            (0...60).contains(second)
        else { return nil }
        return days(fromCivil: year, month, day) * 86_400 + hour * 3600 + minute * 60 + second
    }

    /// Days since 1970-01-01 for a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
    static func days(fromCivil year: Int, _ month: Int, _ day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = y.floorDiv(400)
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func civil(fromDays days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = z.floorDiv(146_097)
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    private static func milliseconds(_ date: Date) -> Int { Int((date.timeIntervalSince1970 * 1000).rounded(.down)) }

    private static func number(_ digits: ArraySlice<UInt8>) -> Int? {
        var value = 0
        for byte in digits {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return value
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let text = String(value)
        return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
    }
}

extension Int {
    fileprivate func floorDiv(_ divisor: Int) -> Int {
        let q = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? q - 1 : q
    }
}
