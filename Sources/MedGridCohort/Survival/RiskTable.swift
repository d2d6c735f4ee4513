public import MedGridCore

/// Right-censored survival data reduced to counts per distinct time: the sufficient statistic of the
/// Kaplan–Meier, Nelson–Aalen and log-rank computations.
///
/// Conventions:
/// - `times` are the distinct observed times (events and censorings), ascending, with `-0` stored as `+0`.
/// - `events[i]` and `censored[i]` count the subjects whose time is `times[i]` with / without an event.
/// - `atRisk[i]` is the number of subjects with time `≥ times[i]` (no left truncation: everybody enters at
///   time −∞). A subject censored at `t` is at risk at `t` (censorings happen after the events at the same
///   time), as in R `survfit` and lifelines.
/// - ``merge(_:)`` adds counts of equal times, so a table built from row shards and merged equals the table
///   of the pooled rows exactly (counts are integers), in any order.
/// - Codable form holds `times`, `events` and `censored`; `atRisk` is recomputed.
public struct RiskTable: Codable, Sendable, Equatable {
    /// Distinct times, ascending.
    public private(set) var times: [Double]
    /// Events at each time.
    public private(set) var events: [Int]
    /// Censorings at each time.
    public private(set) var censored: [Int]
    /// Subjects with time `≥ times[i]`.
    public private(set) var atRisk: [Int]

    /// An empty table.
    public init() {
        times = []
        events = []
        censored = []
        atRisk = []
    }

    /// Counts the subjects `(time[i], event[i])`.
    /// - Throws: `invalidInput` when the counts differ or a time is not finite (naming the row).
    public init(time: [Double], event: [Bool]) throws {
        try SurvivalInput.validate(time: time, event: event)
        let order = time.indices.sorted { time[$0] < time[$1] }
        var times: [Double] = [], events: [Int] = [], censored: [Int] = []
        for i in order {
            let t = time[i] + 0.0
            if times.last != t {
                times.append(t)
                events.append(0)
                censored.append(0)
            }
            if event[i] { events[events.count - 1] += 1 } else { censored[censored.count - 1] += 1 }
        }
        self.times = times
        self.events = events
        self.censored = censored
        self.atRisk = []
        recomputeAtRisk()
    }

    /// A table from its counts. Throws unless `times` are finite and strictly increasing, counts are
    /// non-negative and the three arrays have equal length.
    public init(times: [Double], events: [Int], censored: [Int]) throws {
        guard times.count == events.count, times.count == censored.count else {
            throw MedGridError(
                .invalidInput,
                "risk table has \(times.count) times, \(events.count) event counts and \(censored.count) censored counts; expected equal lengths"
            )
        }
        for i in times.indices {
            guard times[i].isFinite, i == 0 || times[i] > times[i - 1] else {
                throw MedGridError(.invalidInput, "risk table times[\(i)] = \(times[i]) is not finite and strictly increasing")
            }
            guard events[i] >= 0, censored[i] >= 0 else {
                throw MedGridError(.invalidInput, "risk table counts at index \(i) are negative")
            }
        }
        self.times = times.map { $0 + 0.0 }
        self.events = events
        self.censored = censored
        self.atRisk = []
        recomputeAtRisk()
    }

    private mutating func recomputeAtRisk() {
        var risk = [Int](repeating: 0, count: times.count)
        var n = 0
        for i in stride(from: times.count - 1, through: 0, by: -1) {
            n += events[i] + censored[i]
            risk[i] = n
        }
        atRisk = risk
    }

    /// Number of subjects.
    public var subjects: Int { atRisk.first ?? 0 }
    /// Number of events.
    public var totalEvents: Int { events.reduce(0, +) }

    /// Adds the subjects of `other` (exact; order-independent).
    public mutating func merge(_ other: RiskTable) {
        var t: [Double] = [], e: [Int] = [], c: [Int] = []
        t.reserveCapacity(times.count + other.times.count)
        var i = 0, j = 0
        while i < times.count || j < other.times.count {
            if j == other.times.count || (i < times.count && times[i] < other.times[j]) {
                t.append(times[i]); e.append(events[i]); c.append(censored[i]); i += 1
            } else if i == times.count || other.times[j] < times[i] {
                t.append(other.times[j]); e.append(other.events[j]); c.append(other.censored[j]); j += 1
            } else {
                t.append(times[i]); e.append(events[i] + other.events[j]); c.append(censored[i] + other.censored[j])
                i += 1; j += 1
            }
        }
        times = t
        events = e
        censored = c
        recomputeAtRisk()
    }

    /// This table merged with `other`.
    public func merged(with other: RiskTable) -> RiskTable {
        var copy = self
        copy.merge(other)
        return copy
    }

    private enum CodingKeys: String, CodingKey { case times, events, censored }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(
            times: try c.decode([Double].self, forKey: .times), events: try c.decode([Int].self, forKey: .events),
            censored: try c.decode([Int].self, forKey: .censored)
        )
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(times, forKey: .times)
        try c.encode(events, forKey: .events)
        try c.encode(censored, forKey: .censored)
    }

    /// `{"times", "at_risk", "events", "censored", "subjects", "total_events"}`.
    public func json() -> JSONValue {
        .object([
            "times": .numbers(times), "at_risk": .ints(atRisk), "events": .ints(events), "censored": .ints(censored),
            "subjects": .int(subjects), "total_events": .int(totalEvents),
        ])
    }
}

/// Risk tables keyed by (stratum, group): the sufficient statistic of the (stratified) log-rank test.
///
/// Conventions: groups and strata are labels (an unstratified set uses the single stratum `""`); entries are
/// sorted by (stratum, group) with Swift `String` ordering. ``merge(_:)`` merges the tables of equal keys
/// (exact, order-independent).
public struct RiskTableSet: Codable, Sendable, Equatable {
    /// A (stratum, group) key.
    public struct Key: Hashable, Codable, Sendable, Comparable {
        public var stratum: String
        public var group: String
        public init(stratum: String, group: String) {
            self.stratum = stratum
            self.group = group
        }
        public static func < (a: Key, b: Key) -> Bool {
            a.stratum != b.stratum ? a.stratum < b.stratum : a.group < b.group
        }
    }

    /// One keyed table.
    public struct Entry: Codable, Sendable, Equatable {
        public var key: Key
        public var table: RiskTable
    }

    /// Entries sorted by key, keys distinct.
    public private(set) var entries: [Entry]

    /// An empty set.
    public init() { entries = [] }

    /// Tables of the rows grouped by `group[i]` within `stratum[i]` (all rows in stratum `""` when `nil`).
    public init(time: [Double], event: [Bool], group: [String], stratum: [String]? = nil) throws {
        try SurvivalInput.validate(time: time, event: event)
        try SurvivalInput.validateLabels(group, count: time.count, field: "group")
        try SurvivalInput.validateLabels(stratum, count: time.count, field: "stratum")
        var rows: [Key: ([Double], [Bool])] = [:]
        for i in time.indices {
            let key = Key(stratum: stratum?[i] ?? "", group: group[i])
            rows[key, default: ([], [])].0.append(time[i])
            rows[key, default: ([], [])].1.append(event[i])
        }
        entries = try rows.keys.sorted().map { key in
            let r = rows[key]!
            return Entry(key: key, table: try RiskTable(time: r.0, event: r.1))
        }
    }

    /// Integer-coded convenience: labels are the decimal codes.
    public init(time: [Double], event: [Bool], groupCode: [Int], stratumCode: [Int]? = nil) throws {
        try self.init(
            time: time, event: event, group: groupCode.map(String.init), stratum: stratumCode?.map { String($0) }
        )
    }

    /// The table of a key, if present.
    public func table(stratum: String = "", group: String) -> RiskTable? {
        entries.first { $0.key == Key(stratum: stratum, group: group) }?.table
    }

    /// Distinct group labels, sorted.
    public var groups: [String] { Array(Set(entries.map(\.key.group))).sorted() }
    /// Distinct stratum labels, sorted.
    public var strata: [String] { Array(Set(entries.map(\.key.stratum))).sorted() }

    /// Merges the tables of `other` into this set.
    public mutating func merge(_ other: RiskTableSet) {
        var byKey: [Key: RiskTable] = [:]
        for e in entries { byKey[e.key] = e.table }
        for e in other.entries {
            if let existing = byKey[e.key] { byKey[e.key] = existing.merged(with: e.table) } else { byKey[e.key] = e.table }
        }
        entries = byKey.keys.sorted().map { Entry(key: $0, table: byKey[$0]!) }
    }

    /// This set merged with `other`.
    public func merged(with other: RiskTableSet) -> RiskTableSet {
        var copy = self
        copy.merge(other)
        return copy
    }
}
