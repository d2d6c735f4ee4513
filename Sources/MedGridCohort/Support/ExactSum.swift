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
/// - The state after any sequence of ``add(_:)-(Double)``, ``add(contentsOf:)-(UnsafeBufferPointer<Double>)``
///   and ``add(_:)-(ExactSum)`` calls depends only on the multiset of terms, so ``value`` is bitwise identical
///   for every order and partition of the terms. Equality and hashing compare that canonical state
///   (carry-propagated chunks and the special flags).
/// - Codable form: `{"c": [i0, v0, i1, v1, ...], "s": flags}` — the nonzero canonical chunks as
///   (index, value) pairs with increasing index, and `s` (omitted when 0) a bit set: 1 = `+∞` seen,
///   2 = `−∞` seen, 4 = NaN seen.
/// - Storage is inline (a fixed-size tuple of 67 `Int64`, 552 bytes per accumulator, no heap allocation), so
///   copies are independent values and adding a term touches no reference count or bounds check.
public struct ExactSum: Sendable, Hashable, Codable {
    /// Number of 64-bit chunks (covers the full exponent range plus two chunks of carry headroom).
    @inlinable static var chunkCount: Int { 67 }
    /// Terms that may be added between carry propagations: `2^(63 − 52) − 1`.
    @inlinable static var termsBetweenCarries: Int { 2047 }

    /// Inline storage for the 67 chunks (a homogeneous tuple is laid out like a C array of `Int64`).
    @usableFromInline typealias Chunks = (
        Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64,
        Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64,
        Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64,
        Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64,
        Int64, Int64, Int64
    )

    /// All chunks zero.
    @inlinable static var zeroChunks: Chunks {
        (
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            0, 0, 0
        )
    }

    @usableFromInline var chunks: Chunks
    /// Terms that may still be added before the next carry propagation.
    @usableFromInline var addsUntilCarry: Int
    /// Bit set: 1 = +inf added, 2 = -inf added, 4 = NaN added.
    @usableFromInline var specials: UInt8

    /// An empty sum (value `+0.0`).
    @inlinable
    public init() {
        chunks = Self.zeroChunks
        addsUntilCarry = Self.termsBetweenCarries
        specials = 0
    }

    /// The exact sum of `values`.
    public init(_ values: some Sequence<Double>) {
        self.init()
        add(contentsOf: values)
    }

    // MARK: Adding terms

    /// Adds the finite (or zero, or subnormal) term with bit pattern `bits` and biased exponent field
    /// `biased` (`< 0x7FF`) to the chunks at `c`; does not count it. The signed 54-bit significand `s` (zero
    /// and subnormals: exponent 1, no implicit bit; zeros add nothing) is split exactly as
    /// `s · 2^(e & 31) = low + high · 2^32` with `low = (s << (e & 31)) & (2^32 − 1)` in `[0, 2^32)` and
    /// `high = s >> (32 − (e & 31))` (arithmetic shift) in `[−2^52, 2^52)`, so each chunk changes by at most
    /// 2^52 per term and 2047 terms keep it below 2^63 (the canonical state after carry propagation is unique,
    /// so this split gives the same ``value``, `==`, hash and encoding as any other exact split).
    @inlinable @inline(__always)
    static func deposit(_ bits: UInt64, biased: UInt64, into c: UnsafeMutablePointer<Int64>) {
        let exponent = biased | (biased == 0 ? 1 : 0)
        let implicit: UInt64 = biased == 0 ? 0 : 1 &<< 52
        let magnitude = Int64(bitPattern: (bits & 0x000F_FFFF_FFFF_FFFF) | implicit)
        let sign = Int64(bitPattern: bits) &>> 63  // 0 or -1
        let significand = (magnitude ^ sign) &- sign
        let shift = exponent & 31
        let low = (significand &<< shift) & 0xFFFF_FFFF
        let high = significand &>> (32 &- shift)
        let index = Int(truncatingIfNeeded: exponent &>> 5)
        c[index] &+= low
        c[index &+ 1] &+= high
    }

    /// The `specials` flag of an infinite or NaN term.
    @inlinable @inline(__always)
    static func specialFlag(_ x: Double) -> UInt8 {
        x.isNaN ? 4 : (x > 0 ? 1 : 2)
    }

    /// Adds one term exactly.
    @inlinable @inline(__always)
    public mutating func add(_ x: Double) {
        let bits = x.bitPattern
        let biased = (bits &>> 52) & 0x7FF
        if _slowPath(biased == 0x7FF) {
            addSpecial(x)
            return
        }
        addsUntilCarry &-= 1
        if _slowPath(addsUntilCarry < 0) { propagateCarriesBeforeAdd() }
        withUnsafeMutableBytes(of: &chunks) { raw in
            Self.deposit(bits, biased: biased, into: raw.baseAddress.unsafelyUnwrapped.assumingMemoryBound(to: Int64.self))
        }
    }

    @usableFromInline @inline(never)
    mutating func addSpecial(_ x: Double) {
        specials |= Self.specialFlag(x)
    }

    /// Adds every term of `terms` exactly. The result is identical to calling ``add(_:)-(Double)`` for each
    /// term (in any order); this form keeps the carry counter in a register and checks it once per run of up to
    /// 2047 terms instead of once per term.
    public mutating func add(contentsOf terms: UnsafeBufferPointer<Double>) {
        guard let base = terms.baseAddress else { return }
        let n = terms.count
        var budget = addsUntilCarry
        var flags = specials
        withUnsafeMutableBytes(of: &chunks) { raw in
            let c = raw.baseAddress.unsafelyUnwrapped.assumingMemoryBound(to: Int64.self)
            var i = 0
            while i < n {
                if budget <= 0 {
                    Self.propagate(c)
                    budget = Self.termsBetweenCarries
                }
                let end = i &+ min(budget, n &- i)
                budget &-= end &- i
                while i < end {
                    let bits = base[i].bitPattern
                    let biased = (bits &>> 52) & 0x7FF
                    if _slowPath(biased == 0x7FF) {
                        flags |= Self.specialFlag(base[i])
                    } else {
                        Self.deposit(bits, biased: biased, into: c)
                    }
                    i &+= 1
                }
            }
        }
        addsUntilCarry = budget
        specials = flags
    }

    /// Adds every term of `terms` exactly (see ``add(contentsOf:)-(UnsafeBufferPointer<Double>)``).
    public mutating func add(contentsOf terms: some Sequence<Double>) {
        let done: Void? = terms.withContiguousStorageIfAvailable { add(contentsOf: $0) }
        if done == nil {
            for t in terms { add(t) }
        }
    }

    /// Adds every term of `other` exactly (merging two partial sums).
    public mutating func add(_ other: ExactSum) {
        propagateCarries()
        var o = other.chunks
        withUnsafeMutableBytes(of: &o) { od in
            let d = od.baseAddress.unsafelyUnwrapped.assumingMemoryBound(to: Int64.self)
            Self.propagate(d)
            withUnsafeMutableBytes(of: &chunks) { raw in
                let c = raw.baseAddress.unsafelyUnwrapped.assumingMemoryBound(to: Int64.self)
                for i in 0..<Self.chunkCount { c[i] &+= d[i] }
            }
        }
        specials |= other.specials
        propagateCarries()
    }

    // MARK: Carries

    /// Brings every chunk at `c` but the top one into `[-2^31, 2^31)`, carrying the excess upwards.
    @usableFromInline
    static func propagate(_ c: UnsafeMutablePointer<Int64>) {
        var carry: Int64 = 0
        for i in 0..<(chunkCount - 1) {
            let v = c[i] &+ carry
            carry = (v &+ (1 &<< 31)) &>> 32
            c[i] = v &- (carry &<< 32)
        }
        c[chunkCount - 1] &+= carry
    }

    /// Brings every chunk but the top one into `[-2^31, 2^31)`, carrying the excess upwards.
    @usableFromInline @inline(never)
    mutating func propagateCarries() {
        withUnsafeMutableBytes(of: &chunks) { raw in
            Self.propagate(raw.baseAddress.unsafelyUnwrapped.assumingMemoryBound(to: Int64.self))
        }
        addsUntilCarry = Self.termsBetweenCarries
    }

    /// Propagates carries when the counter ran out in ``add(_:)-(Double)``, counting the term being added.
    @usableFromInline @inline(never)
    mutating func propagateCarriesBeforeAdd() {
        propagateCarries()
        addsUntilCarry = Self.termsBetweenCarries &- 1
    }

    /// Calls `body` with the canonical (carry-propagated) chunks of a copy of the state.
    func withCanonicalChunks<R>(_ body: (UnsafeBufferPointer<Int64>) -> R) -> R {
        var copy = chunks
        return withUnsafeMutableBytes(of: &copy) { raw in
            let c = raw.baseAddress.unsafelyUnwrapped.assumingMemoryBound(to: Int64.self)
            Self.propagate(c)
            return body(UnsafeBufferPointer(start: c, count: Self.chunkCount))
        }
    }

    /// Resets to the empty sum.
    mutating func removeAll() {
        chunks = Self.zeroChunks
        addsUntilCarry = Self.termsBetweenCarries
        specials = 0
    }

    /// True when nothing but zeros (or nothing) was added.
    var isZero: Bool {
        specials == 0
            && withUnsafeBytes(of: chunks) { raw in
                raw.bindMemory(to: Int64.self).allSatisfy { $0 == 0 }
            }
    }

    // MARK: Rounding

    /// The exact sum correctly rounded to nearest, ties to even (see the type's conventions for ±∞/NaN).
    public var value: Double {
        if specials != 0 {
            if specials & 4 != 0 || specials & 3 == 3 { return .nan }
            return specials & 1 != 0 ? .infinity : -.infinity
        }
        return withCanonicalChunks { Self.roundedValue(balanced: $0) }
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
            let v = withUnsafeBytes(of: &chunks) { raw in
                Self.roundedValue(balanced: raw.bindMemory(to: Int64.self))
            }
            if v == 0 { return count }
            out.append(v)
            count += 1
            if !v.isFinite { return count }
            add(-v)
        }
    }

    // MARK: Hashable, Codable on the canonical state

    public static func == (a: ExactSum, b: ExactSum) -> Bool {
        guard a.specials == b.specials else { return false }
        return a.withCanonicalChunks { x in
            b.withCanonicalChunks { y in
                for i in 0..<chunkCount where x[i] != y[i] { return false }
                return true
            }
        }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(specials)
        // The same sequence of combined values as hashing the canonical chunks as an `[Int64]`.
        withCanonicalChunks { c in
            hasher.combine(c.count)
            for v in c { hasher.combine(v) }
        }
    }

    private enum CodingKeys: String, CodingKey {
        case c, s
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        let pairs: [Int64] = withCanonicalChunks { c in
            var pairs: [Int64] = []
            for (i, v) in c.enumerated() where v != 0 {
                pairs.append(Int64(i))
                pairs.append(v)
            }
            return pairs
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
            withUnsafeMutableBytes(of: &chunks) { raw in
                raw.baseAddress.unsafelyUnwrapped.assumingMemoryBound(to: Int64.self)[Int(index)] = v
            }
            previous = index
        }
    }
}
