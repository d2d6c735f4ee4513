/// An exact, order-independent sum of `Double`s: Radford Neal's "small superaccumulator".
///
/// Conventions:
/// - The accumulator holds the exact real sum of every finite term added. It is 67 signed 64-bit chunks;
///   chunk `i` has weight `2^(32·i − 1075)` and, after carry propagation, holds a "balanced" 32-bit digit
///   in `[-2^31, 2^31)` (the top chunk takes whatever remains). A finite term with biased exponent `e`
///   (`e = 1` for subnormals) and 53-bit significand `m` is split into `(m << (e & 31)) & (2^32 − 1)` added
///   to chunk `e >> 5` and `m >> (32 − (e & 31))` (< 2^52) added to chunk `(e >> 5) + 1`. Carries are
///   propagated every 2047 terms, which keeps every chunk below 2^63 in magnitude (Neal 2015,
///   "Fast exact summation using small and large superaccumulators", arXiv:1505.05571).
/// - ``value`` is the exact sum correctly rounded to the nearest `Double`, ties to even (the same as Python's
///   `math.fsum`). A sum that is exactly zero is `+0.0` (also for terms that are all `-0.0`). A finite sum
///   whose rounding overflows is `±infinity`.
/// - Infinities and NaNs: if any term is NaN, or both `+∞` and `−∞` were added, the value is `Double.nan`
///   (the canonical quiet NaN, whatever payloads were added); otherwise if `±∞` was added the value is that
///   infinity (finite terms are then ignored).
/// - The state after any sequence of ``add(_:)-(Double)`` and ``add(_:)-(ExactSum)`` calls depends only on
///   the multiset of terms, so ``value`` is bitwise identical for every order and partition of the terms.
///   Equality and hashing compare that canonical state (carry-propagated chunks and the special flags).
/// - Codable form: `{"c": [i0, v0, i1, v1, ...], "s": flags}` — the nonzero canonical chunks as
///   (index, value) pairs with increasing index, and `s` (omitted when 0) a bit set: 1 = `+∞` seen,
///   2 = `−∞` seen, 4 = NaN seen.
public struct ExactSum: Sendable, Hashable, Codable {
    /// Number of 64-bit chunks (covers the full exponent range plus two chunks of carry headroom).
    @usableFromInline static let chunkCount = 67
    /// Terms that may be added between carry propagations: `2^(63 − 52) − 1`.
    @usableFromInline static let termsBetweenCarries = 2047

    @usableFromInline var chunks: [Int64]
    /// Terms that may still be added before the next carry propagation.
    @usableFromInline var addsUntilCarry: Int
    /// Bit set: 1 = +inf added, 2 = -inf added, 4 = NaN added.
    @usableFromInline var specials: UInt8

    /// An empty sum (value `+0.0`).
    public init() {
        chunks = Array(repeating: 0, count: Self.chunkCount)
        addsUntilCarry = Self.termsBetweenCarries
        specials = 0
    }

    /// The exact sum of `values`.
    public init(_ values: some Sequence<Double>) {
        self.init()
        for v in values { add(v) }
    }

    /// Adds one term exactly.
    @inlinable
    public mutating func add(_ x: Double) {
        let bits = x.bitPattern
        var exponent = Int(truncatingIfNeeded: (bits &>> 52) & 0x7FF)
        var mantissa = bits & 0x000F_FFFF_FFFF_FFFF
        if exponent == 0x7FF {
            addSpecial(x)
            return
        }
        if exponent == 0 {
            if mantissa == 0 { return }
            exponent = 1
        } else {
            mantissa |= 1 &<< 52
        }
        if addsUntilCarry == 0 { propagateCarries() }
        addsUntilCarry &-= 1
        let lowShift = UInt64(truncatingIfNeeded: exponent & 31)
        let sign = Int64(bitPattern: bits) &>> 63  // 0 or -1
        var low = Int64(bitPattern: (mantissa &<< lowShift) & 0xFFFF_FFFF)
        var high = Int64(bitPattern: mantissa &>> (32 &- lowShift))
        low = (low ^ sign) &- sign
        high = (high ^ sign) &- sign
        let index = exponent &>> 5
        chunks[index] &+= low
        chunks[index &+ 1] &+= high
    }

    @usableFromInline
    mutating func addSpecial(_ x: Double) {
        if x.isNaN {
            specials |= 4
        } else if x > 0 {
            specials |= 1
        } else {
            specials |= 2
        }
    }

    /// Adds every term of `other` exactly (merging two partial sums).
    public mutating func add(_ other: ExactSum) {
        propagateCarries()
        var o = other
        o.propagateCarries()
        chunks.withUnsafeMutableBufferPointer { c in
            o.chunks.withUnsafeBufferPointer { d in
                for i in 0..<Self.chunkCount { c[i] &+= d[i] }
            }
        }
        specials |= other.specials
        propagateCarries()
    }

    /// Brings every chunk but the top one into `[-2^31, 2^31)`, carrying the excess upwards.
    @usableFromInline
    mutating func propagateCarries() {
        chunks.withUnsafeMutableBufferPointer { c in
            var carry: Int64 = 0
            for i in 0..<(Self.chunkCount - 1) {
                let v = c[i] &+ carry
                carry = (v &+ (1 &<< 31)) &>> 32
                c[i] = v &- (carry &<< 32)
            }
            c[Self.chunkCount - 1] &+= carry
        }
        addsUntilCarry = Self.termsBetweenCarries
    }

    /// Resets to the empty sum, keeping the storage.
    mutating func removeAll() {
        chunks.withUnsafeMutableBufferPointer { c in
            for i in 0..<Self.chunkCount { c[i] = 0 }
        }
        addsUntilCarry = Self.termsBetweenCarries
        specials = 0
    }

    /// True when nothing but zeros (or nothing) was added.
    var isZero: Bool {
        specials == 0 && chunks.allSatisfy { $0 == 0 }
    }

    /// The exact sum correctly rounded to nearest, ties to even (see the type's conventions for ±∞/NaN).
    public var value: Double {
        if specials != 0 {
            if specials & 4 != 0 || specials & 3 == 3 { return .nan }
            return specials & 1 != 0 ? .infinity : -.infinity
        }
        var copy = self
        copy.propagateCarries()
        return copy.chunks.withUnsafeBufferPointer { Self.roundedValue(balanced: $0) }
    }

    /// Rounds the exact value held in carry-propagated (balanced) chunks.
    static func roundedValue(balanced c: UnsafeBufferPointer<Int64>) -> Double {
        let n = chunkCount
        var top = n - 1
        while top >= 0 && c[top] == 0 { top -= 1 }
        if top < 0 { return 0.0 }
        let negative = c[top] < 0
        // Magnitude as unsigned 32-bit digits (one extra digit of room).
        return withUnsafeTemporaryAllocation(of: UInt64.self, capacity: n + 1) { u in
            var carry: Int64 = 0
            for i in 0..<n {
                let v = (negative ? -c[i] : c[i]) &+ carry
                u[i] = UInt64(bitPattern: v & 0xFFFF_FFFF)
                carry = v &>> 32
            }
            u[n] = UInt64(bitPattern: carry)
            var k = n
            while k > 0 && u[k] == 0 { k -= 1 }
            // Position of the most significant bit, in units of 2^-1075.
            let p = 64 * 0 + 32 * k + (63 - u[k].leadingZeroBitCount)
            let s = max(p - 52, 1)
            func digit(_ i: Int) -> UInt64 { i <= n ? u[i] : 0 }
            let index = s >> 5, offset = UInt64(s & 31)
            var window = digit(index) >> offset
            window |= digit(index + 1) << (32 - offset)
            if offset > 0 { window |= digit(index + 2) << (64 - offset) }
            let width = p - s + 1
            var mantissa = width >= 64 ? window : window & ((1 << UInt64(width)) - 1)
            // Round bit (position s-1) and sticky bits (below s-1).
            let r = s - 1
            let roundBit = (digit(r >> 5) >> UInt64(r & 31)) & 1
            var sticky = (digit(r >> 5) & ((1 << UInt64(r & 31)) - 1)) != 0
            if !sticky {
                var i = (r >> 5) - 1
                while i >= 0 {
                    if u[i] != 0 { sticky = true; break }
                    i -= 1
                }
            }
            if roundBit == 1 && (sticky || mantissa & 1 == 1) { mantissa += 1 }
            return Double(
                sign: negative ? .minus : .plus, exponent: s - 1075, significand: Double(mantissa)
            )
        }
    }

    /// The canonical floating-point expansion of the exact sum: `e[0]` is ``value``, `e[1]` is the exact
    /// remainder `sum − e[0]` correctly rounded, and so on until the remainder is zero (at most about 40
    /// components; usually one or two). Depends only on the exact sum. An exactly zero sum has no components;
    /// a NaN or infinite ``value`` (including finite overflow) is the only component.
    func expansion() -> [Double] {
        var out: [Double] = []
        appendExpansion(to: &out)
        return out
    }

    /// Appends ``expansion()`` to `out` and returns the number of components appended.
    @discardableResult
    func appendExpansion(to out: inout [Double]) -> Int {
        let first = value
        if !first.isFinite {
            out.append(first)
            return 1
        }
        var rest = self
        var count = 0
        var v = first
        while v != 0 {
            out.append(v)
            count += 1
            rest.add(-v)
            v = rest.value
        }
        return count
    }

    /// Appends the canonical expansion (see ``expansion()``) to `out`, consuming this accumulator (it is left
    /// holding an unspecified value; call ``removeAll()`` before reuse). Returns the number of components.
    @discardableResult
    mutating func drainExpansion(into out: inout [Double]) -> Int {
        if specials != 0 {
            out.append(value)
            return 1
        }
        var count = 0
        while true {
            propagateCarries()
            let v = chunks.withUnsafeBufferPointer { Self.roundedValue(balanced: $0) }
            if v == 0 { return count }
            out.append(v)
            count += 1
            if !v.isFinite { return count }
            add(-v)
        }
    }

    // MARK: Hashable, Codable on the canonical state

    private func canonicalChunks() -> [Int64] {
        var copy = self
        copy.propagateCarries()
        return copy.chunks
    }

    public static func == (a: ExactSum, b: ExactSum) -> Bool {
        a.specials == b.specials && a.canonicalChunks() == b.canonicalChunks()
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(specials)
        hasher.combine(canonicalChunks())
    }

    private enum CodingKeys: String, CodingKey {
        case c, s
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        var pairs: [Int64] = []
        for (i, v) in canonicalChunks().enumerated() where v != 0 {
            pairs.append(Int64(i))
            pairs.append(v)
        }
        try container.encode(pairs, forKey: .c)
        if specials != 0 { try container.encode(specials, forKey: .s) }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let pairs = try container.decode([Int64].self, forKey: .c)
        let flags = try container.decodeIfPresent(UInt8.self, forKey: .s) ?? 0
        guard flags <= 7 else {
            throw DecodingError.dataCorruptedError(
                forKey: .s, in: container, debugDescription: "ExactSum flags must be in 0...7, got \(flags)"
            )
        }
        guard pairs.count % 2 == 0 else {
            throw DecodingError.dataCorruptedError(
                forKey: .c, in: container,
                debugDescription: "ExactSum chunks must be (index, value) pairs; got \(pairs.count) numbers"
            )
        }
        self.init()
        specials = flags
        var previous: Int64 = -1
        for k in stride(from: 0, to: pairs.count, by: 2) {
            let index = pairs[k], v = pairs[k + 1]
            guard index > previous, index < Int64(Self.chunkCount) else {
                throw DecodingError.dataCorruptedError(
                    forKey: .c, in: container,
                    debugDescription:
                        "ExactSum chunk index at position \(k) must increase and be in 0..<\(Self.chunkCount), got \(index)"
                )
            }
            let isTop = index == Int64(Self.chunkCount - 1)
            guard isTop ? abs(v) < (1 << 62) : (v >= -(1 << 31) && v < (1 << 31)) else {
                throw DecodingError.dataCorruptedError(
                    forKey: .c, in: container,
                    debugDescription: "ExactSum chunk \(index) value \(v) is outside its canonical range"
                )
            }
            chunks[Int(index)] = v
            previous = index
        }
    }
}
