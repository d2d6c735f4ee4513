import Testing
@testable import MedGridCore

/// Table-style tests of the scheduler state machine: events in, decisions out, no IO.
struct SchedulerTests {
    static func config(ttl: Double = 10, prefetch: Int = 1) -> Scheduler.Configuration {
        .defaults { $0.leaseTTL = ttl; $0.prefetch = prefetch }
    }

    static func retries(lost: Int = 2, error: Int = 1, timeout: Int = 1, backoff: Double = 1) -> Manifest.RetryPolicy {
        var r = Manifest.RetryPolicy()
        r.lostWorker = lost
        r.kernelError = error
        r.timeout = timeout
        r.backoffSeconds = backoff
        r.maxBackoffSeconds = 8
        return r
    }

    static func granted(_ d: [SchedulerDecision]) -> Lease? {
        for x in d { if case .leaseGranted(let l) = x { return l } }
        return nil
    }

    @Test("a lease holds at most free slots plus the prefetch, in plan order")
    func leaseBatchBounded() {
        var s = Scheduler(configuration: Self.config(prefetch: 1))
        _ = s.submit(job: "j", taskCount: 10, priority: 0, placement: [:], retries: Self.retries())
        _ = s.register(worker: "w", labels: [:], slots: 2, now: 0)
        let lease = Self.granted(s.requestLease(worker: "w", maxTasks: 100, now: 0))
        #expect(lease?.tasks.map(\.index) == [0, 1, 2])
        // Bounded in-flight work: no more until something finishes.
        #expect(Self.granted(s.requestLease(worker: "w", maxTasks: 100, now: 0)) == nil)
        _ = s.complete(TaskRef(job: "j", index: 0), worker: "w", lease: lease!.id, failure: nil, now: 1)
        #expect(Self.granted(s.requestLease(worker: "w", maxTasks: 100, now: 1))?.tasks.map(\.index) == [3])
    }

    @Test("leases expire only when heartbeats stop, and the tasks run again", arguments: [
        // (heartbeat times, check time, expired?)
        ([1.0, 5, 9, 13], 20.0, false),
        ([1.0, 5], 16.0, true),
        ([Double](), 10.5, true),
        ([Double](), 9.5, false),
    ])
    func leaseExpiry(heartbeats: [Double], at check: Double, expired: Bool) {
        var s = Scheduler(configuration: Self.config(ttl: 10))
        _ = s.submit(job: "j", taskCount: 1, priority: 0, placement: [:], retries: Self.retries())
        _ = s.register(worker: "w", labels: [:], slots: 1, now: 0)
        _ = s.requestLease(worker: "w", maxTasks: 1, now: 0)
        for h in heartbeats { _ = s.heartbeat(worker: "w", now: h) }
        let d = s.tick(now: check)
        let ref = TaskRef(job: "j", index: 0)
        #expect(d.contains { if case .leaseExpired = $0 { true } else { false } } == expired)
        #expect(s.phase(of: ref) == (expired ? .pending : .leased))
        #expect(s.attempts(of: ref)[.lostWorker, default: 0] == (expired ? 1 : 0))
    }

    @Test("each failure kind is charged to its own budget, then the task is quarantined", arguments: [
        (TaskFailure.Kind.kernelError, 1, 2),  // retries.kernelError = 1 -> 2 attempts in all
        (.trapped, 1, 2),
        (.timeout, 2, 3),
        (.outOfMemory, 2, 3),
        (.integrity, 0, 1),  // never retried
    ])
    func retryBudgets(kind: TaskFailure.Kind, timeoutBudget: Int, attemptsUntilQuarantine: Int) {
        var s = Scheduler(configuration: Self.config())
        _ = s.submit(job: "j", taskCount: 1, priority: 0, placement: [:], retries: Self.retries(error: 1, timeout: timeoutBudget, backoff: 0))
        _ = s.register(worker: "w", labels: [:], slots: 1, now: 0)
        var quarantinedAt: Int?
        var now = 0.0
        for attempt in 1...5 {
            guard let lease = Self.granted(s.requestLease(worker: "w", maxTasks: 1, now: now)) else { break }
            let d = s.complete(lease.tasks[0], worker: "w", lease: lease.id, failure: TaskFailure(kind: kind, message: "x"), now: now)
            if d.contains(where: { if case .taskQuarantined = $0 { true } else { false } }) { quarantinedAt = attempt; break }
            now += 1
        }
        #expect(quarantinedAt == attemptsUntilQuarantine)
        #expect(s.status(of: "j") == .failed)
    }

    @Test("retries back off exponentially and prefer another worker")
    func backoffAndAvoidance() {
        var s = Scheduler(configuration: Self.config())
        _ = s.submit(job: "j", taskCount: 1, priority: 0, placement: [:], retries: Self.retries(error: 3, backoff: 2))
        _ = s.register(worker: "a", labels: [:], slots: 1, now: 0)
        _ = s.register(worker: "b", labels: [:], slots: 1, now: 0)
        let l1 = Self.granted(s.requestLease(worker: "a", maxTasks: 1, now: 0))!
        let d = s.complete(l1.tasks[0], worker: "a", lease: l1.id, failure: TaskFailure(kind: .kernelError, message: "boom"), now: 10)
        #expect(d.contains(.taskRequeued(l1.tasks[0], failure: TaskFailure(kind: .kernelError, message: "boom"), attempt: 1, notBefore: 12)))
        #expect(s.pendingReason(l1.tasks[0], now: 11) == .waitingForBackoff(until: 12))
        #expect(Self.granted(s.requestLease(worker: "a", maxTasks: 1, now: 11)) == nil)  // backoff
        #expect(Self.granted(s.requestLease(worker: "a", maxTasks: 1, now: 12)) == nil)  // b can take it
        let l2 = Self.granted(s.requestLease(worker: "b", maxTasks: 1, now: 12))!
        _ = s.complete(l2.tasks[0], worker: "b", lease: l2.id, failure: TaskFailure(kind: .kernelError, message: "boom"), now: 20)
        // Both failed once; the second retry waits 4 s and then goes to whoever asks.
        #expect(Self.granted(s.requestLease(worker: "a", maxTasks: 1, now: 23)) == nil)
        #expect(Self.granted(s.requestLease(worker: "a", maxTasks: 1, now: 24)) != nil)
    }

    @Test("placement labels: tasks go only to matching workers, and status says why they wait")
    func placement() {
        var s = Scheduler(configuration: Self.config())
        _ = s.submit(job: "j", taskCount: 2, priority: 0, placement: ["site": "A"], retries: Self.retries())
        let ref = TaskRef(job: "j", index: 0)
        #expect(s.pendingReason(ref, now: 0) == .noWorkers)
        _ = s.register(worker: "b", labels: ["site": "B"], slots: 4, now: 0)
        #expect(Self.granted(s.requestLease(worker: "b", maxTasks: 4, now: 0)) == nil)
        #expect(s.pendingReason(ref, now: 0) == .noWorkerWithLabels(["site": "A"]))
        _ = s.register(worker: "a", labels: ["site": "A", "gpu": "no"], slots: 1, now: 0)
        #expect(s.pendingReason(ref, now: 0) == .queuedBehind(0))
        #expect(Self.granted(s.requestLease(worker: "a", maxTasks: 1, now: 0))?.tasks.count == 1)
        #expect(s.pendingReason(TaskRef(job: "j", index: 1), now: 0) == .allSlotsBusy)
    }

    @Test("higher priority first; equal priorities share by fewest tasks in flight")
    func fairness() {
        var s = Scheduler(configuration: Self.config(prefetch: 0))
        _ = s.submit(job: "low", taskCount: 4, priority: 0, placement: [:], retries: Self.retries())
        _ = s.submit(job: "high", taskCount: 2, priority: 5, placement: [:], retries: Self.retries())
        _ = s.submit(job: "low2", taskCount: 4, priority: 0, placement: [:], retries: Self.retries())
        _ = s.register(worker: "w", labels: [:], slots: 6, now: 0)
        let lease = Self.granted(s.requestLease(worker: "w", maxTasks: 6, now: 0))!
        #expect(lease.tasks.map(\.job) == ["high", "high", "low", "low2", "low", "low2"])
    }

    @Test("cancelling a job drops pending tasks, stops running ones and ends the job")
    func cancellation() {
        var s = Scheduler(configuration: Self.config())
        _ = s.submit(job: "j", taskCount: 3, priority: 0, placement: [:], retries: Self.retries())
        _ = s.register(worker: "w", labels: [:], slots: 1, now: 0)
        let lease = Self.granted(s.requestLease(worker: "w", maxTasks: 1, now: 0))!
        let d = s.cancel(job: "j")
        #expect(d.contains(.stopTasks(worker: "w", tasks: [lease.tasks[0]])))
        #expect(d.last == .jobFinished("j", .cancelled))
        #expect(s.inFlight(worker: "w") == 0)
        // A late result for a cancelled task changes nothing.
        #expect(s.complete(lease.tasks[0], worker: "w", lease: lease.id, failure: nil, now: 1).isEmpty)
    }

    @Test("a result under an expired lease is refused: only the current leaseholder's result counts")
    func lateResult() {
        var s = Scheduler(configuration: Self.config(ttl: 5))
        _ = s.submit(job: "j", taskCount: 1, priority: 0, placement: [:], retries: Self.retries())
        _ = s.register(worker: "a", labels: [:], slots: 1, now: 0)
        let la = Self.granted(s.requestLease(worker: "a", maxTasks: 1, now: 0))!
        _ = s.tick(now: 6)  // a went silent: lease expired
        _ = s.register(worker: "b", labels: [:], slots: 1, now: 6)
        let lb = Self.granted(s.requestLease(worker: "b", maxTasks: 1, now: 6))!
        let ref = la.tasks[0]
        // a comes back after a network split with a finished result: no longer the holder, refused.
        _ = s.register(worker: "a", labels: [:], slots: 1, heldLeases: [la.id], now: 7)
        #expect(s.complete(ref, worker: "a", lease: la.id, failure: nil, now: 7) == [.resultRefused(ref, worker: "a", lease: la.id)])
        #expect(s.phase(of: ref) == .leased)
        // b holds the lease: its result counts.
        let d = s.complete(ref, worker: "b", lease: lb.id, failure: nil, now: 8)
        #expect(d.contains(.taskSucceeded(ref, worker: "b", attempt: 2)))
        #expect(d.contains(.jobFinished("j", .succeeded)))
        #expect(s.inFlight(worker: "b") == 0)
        // b sends it again (its acknowledgement was lost): a duplicate for the store to compare, not a new result.
        #expect(s.complete(ref, worker: "b", lease: lb.id, failure: nil, now: 9) == [.duplicateResult(ref, worker: "b")])
    }

    @Test("forged results are refused: another worker's lease, a pending task, an unknown task, a failure under someone else's lease")
    func forgedResults() {
        var s = Scheduler(configuration: Self.config())
        _ = s.submit(job: "j", taskCount: 3, priority: 0, placement: [:], retries: Self.retries())
        _ = s.register(worker: "honest", labels: [:], slots: 1, now: 0)
        _ = s.register(worker: "mallory", labels: [:], slots: 1, now: 0)
        let lease = Self.granted(s.requestLease(worker: "honest", maxTasks: 1, now: 0))!
        let leased = lease.tasks[0]
        let pending = TaskRef(job: "j", index: 2)
        // mallory copies the honest worker's lease ID: still not the holder.
        #expect(s.complete(leased, worker: "mallory", lease: lease.id, failure: nil, now: 1) == [.resultRefused(leased, worker: "mallory", lease: lease.id)])
        #expect(s.complete(leased, worker: "mallory", lease: lease.id, failure: TaskFailure(kind: .kernelError, message: "x"), now: 1)
            == [.resultRefused(leased, worker: "mallory", lease: lease.id)])
        #expect(s.complete(pending, worker: "mallory", lease: "made-up", failure: nil, now: 1) == [.resultRefused(pending, worker: "mallory", lease: "made-up")])
        #expect(s.complete(pending, worker: "honest", lease: lease.id, failure: nil, now: 1) == [.resultRefused(pending, worker: "honest", lease: lease.id)])
        let unknown = TaskRef(job: "nope", index: 0)
        #expect(s.complete(unknown, worker: "mallory", lease: "x", failure: nil, now: 1) == [.resultRefused(unknown, worker: "mallory", lease: "x")])
        #expect(s.phase(of: leased) == .leased)
        #expect(s.phase(of: pending) == .pending)
        #expect(s.attempts(of: leased).isEmpty)
        // The holder's result is recorded.
        #expect(s.complete(leased, worker: "honest", lease: lease.id, failure: nil, now: 2).contains(.taskSucceeded(leased, worker: "honest", attempt: 1)))
    }

    @Test("a job with some quarantined tasks ends as partially failed")
    func partialFailure() {
        var s = Scheduler(configuration: Self.config())
        _ = s.submit(job: "j", taskCount: 2, priority: 0, placement: [:], retries: Self.retries(error: 0))
        _ = s.register(worker: "w", labels: [:], slots: 2, now: 0)
        let l = Self.granted(s.requestLease(worker: "w", maxTasks: 2, now: 0))!
        _ = s.complete(l.tasks[0], worker: "w", lease: l.id, failure: TaskFailure(kind: .trapped, message: "signal 4"), now: 1)
        let d = s.complete(l.tasks[1], worker: "w", lease: l.id, failure: nil, now: 1)
        #expect(d.last == .jobFinished("j", .partiallyFailed))
    }

    @Test("a worker that registers again without its old lease loses it at once; a graceful leave costs no attempt")
    func reconnectAndLeave() {
        var s = Scheduler(configuration: Self.config())
        _ = s.submit(job: "j", taskCount: 2, priority: 0, placement: [:], retries: Self.retries())
        _ = s.register(worker: "w", labels: [:], slots: 1, now: 0)
        let l = Self.granted(s.requestLease(worker: "w", maxTasks: 1, now: 0))!
        let d = s.register(worker: "w", labels: [:], slots: 1, heldLeases: [], now: 1)
        #expect(d.contains { if case .leaseExpired = $0 { true } else { false } })
        #expect(s.attempts(of: l.tasks[0])[.lostWorker] == 1)
        let l2 = Self.granted(s.requestLease(worker: "w", maxTasks: 2, now: 1))!
        _ = s.workerLeft("w", now: 2)
        for ref in l2.tasks { #expect(s.phase(of: ref) == .pending) }
        #expect(s.attempts(of: TaskRef(job: "j", index: 1))[.lostWorker, default: 0] == 0)
    }

    @Test("a restored coordinator gives leased tasks' workers one lease period, then requeues them")
    func restore() {
        var s = Scheduler(configuration: Self.config(ttl: 5))
        let tasks = [
            RestoredTask(phase: .succeeded, attempts: [:], failedOn: [], notBefore: 0, lease: nil, worker: "w"),
            RestoredTask(phase: .leased, attempts: [:], failedOn: [], notBefore: 0, lease: "L-1", worker: "w"),
            RestoredTask(phase: .pending, attempts: [:], failedOn: [], notBefore: 0, lease: nil, worker: nil),
        ]
        _ = s.restore(job: "j", tasks: tasks, priority: 0, placement: [:], retries: Self.retries(), cancelled: false, now: 100)
        #expect(s.phase(of: TaskRef(job: "j", index: 1)) == .leased)
        #expect(s.tick(now: 104).isEmpty)
        let d = s.tick(now: 106)
        #expect(d.contains { if case .leaseExpired(let id, _, _) = $0 { id == "L-1" } else { false } })
        #expect(s.phase(of: TaskRef(job: "j", index: 1)) == .pending)
    }
}

/// Speculative re-execution of stragglers (off by default).
struct SpeculationTests {
    static func setUp(speculateAfter: Double?) -> (Scheduler, Lease) {
        var s = Scheduler(configuration: .defaults { $0.speculateAfter = speculateAfter; $0.prefetch = 0 })
        _ = s.submit(job: "j", taskCount: 1, priority: 0, placement: [:], retries: SchedulerTests.retries())
        _ = s.register(worker: "slow", labels: [:], slots: 1, now: 0)
        _ = s.register(worker: "idle", labels: [:], slots: 1, now: 0)
        let lease = SchedulerTests.granted(s.requestLease(worker: "slow", maxTasks: 1, now: 0))!
        return (s, lease)
    }

    @Test("off by default: an idle worker gets nothing while the last task runs")
    func offByDefault() {
        var (s, _) = Self.setUp(speculateAfter: nil)
        #expect(SchedulerTests.granted(s.requestLease(worker: "idle", maxTasks: 1, now: 100)) == nil)
    }

    @Test("a straggler is copied to an idle worker only after the threshold; the copy winning stops the original")
    func copyWins() {
        var (s, original) = Self.setUp(speculateAfter: 5)
        #expect(SchedulerTests.granted(s.requestLease(worker: "idle", maxTasks: 1, now: 4)) == nil)
        let copy = SchedulerTests.granted(s.requestLease(worker: "idle", maxTasks: 1, now: 6))!
        let ref = original.tasks[0]
        #expect(copy.tasks == [ref])
        #expect(SchedulerTests.granted(s.requestLease(worker: "slow", maxTasks: 1, now: 6)) == nil, "one copy at most")
        let d = s.complete(ref, worker: "idle", lease: copy.id, failure: nil, now: 7)
        #expect(d.contains(.taskSucceeded(ref, worker: "idle", attempt: 1)))
        #expect(d.contains(.stopTasks(worker: "slow", tasks: [ref])))
        #expect(s.inFlight(worker: "slow") == 0 && s.inFlight(worker: "idle") == 0)
        #expect(s.complete(ref, worker: "slow", lease: original.id, failure: nil, now: 8) == [.duplicateResult(ref, worker: "slow")])
    }

    @Test("a failing copy costs no attempt; the original winning stops the copy")
    func originalWins() {
        var (s, original) = Self.setUp(speculateAfter: 5)
        let ref = original.tasks[0]
        let copy = SchedulerTests.granted(s.requestLease(worker: "idle", maxTasks: 1, now: 6))!
        #expect(s.complete(ref, worker: "idle", lease: copy.id, failure: TaskFailure(kind: .trapped, message: "x"), now: 7).isEmpty)
        #expect(s.attempts(of: ref).isEmpty)
        #expect(s.phase(of: ref) == .leased)
        let again = SchedulerTests.granted(s.requestLease(worker: "idle", maxTasks: 1, now: 8))!
        let d = s.complete(ref, worker: "slow", lease: original.id, failure: nil, now: 9)
        #expect(d.contains(.stopTasks(worker: "idle", tasks: [ref])))
        #expect(d.contains(.jobFinished("j", .succeeded)))
        #expect(s.inFlight(worker: "idle") == 0)
        #expect(s.complete(ref, worker: "idle", lease: again.id, failure: nil, now: 10) == [.duplicateResult(ref, worker: "idle")])
    }
}
