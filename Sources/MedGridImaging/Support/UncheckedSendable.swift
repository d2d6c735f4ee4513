/// A value moved into `@Sendable` closures that write disjoint regions of one buffer.
struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
