import Foundation
import Hummingbird
import MedGridCore
import Prometheus
import Synchronization

/// Prometheus metrics of one coordinator: jobs and tasks by state, leases and workers (sampled when
/// scraped), bytes served and received, and request latency by route.
final class ServerMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    let bytesServed: Counter
    let bytesReceived: Counter
    let requests: Counter
    let latency: DurationHistogram
    let refusedResults: Counter
    let refusedAccesses: Counter
    /// The coordinator's refusal totals already added to the counters above.
    let reported = Mutex((results: 0, accesses: 0))

    init() {
        bytesServed = registry.makeCounter(name: "medgrid_blob_bytes_served_total", help: "Dataset bytes sent to workers (as stored, zstd)")
        bytesReceived = registry.makeCounter(name: "medgrid_blob_bytes_received_total", help: "Dataset bytes uploaded (as stored, zstd)")
        requests = registry.makeCounter(name: "medgrid_http_requests_total", help: "HTTP requests handled")
        latency = registry.makeDurationHistogram(
            name: "medgrid_http_request_duration_seconds",
            buckets: [.milliseconds(1), .milliseconds(5), .milliseconds(25), .milliseconds(100), .milliseconds(500), .seconds(2), .seconds(10), .seconds(60)],
            help: "HTTP request latency (lease long-polls included)")
        refusedResults = registry.makeCounter(name: "medgrid_results_refused_total", help: "Results refused because the sender did not hold the task's lease")
        refusedAccesses = registry.makeCounter(name: "medgrid_access_refused_total", help: "Requests refused for want of project membership or role")
    }

    /// Samples the coordinator's state into gauges and renders the exposition text.
    func render(coordinator: Coordinator) async -> String {
        let (jobs, tasks, leases, workers, results, accesses) = await coordinator.metricsSample()
        let (newResults, newAccesses) = reported.withLock { last -> (Int, Int) in
            defer { last = (max(last.results, results), max(last.accesses, accesses)) }
            return (max(0, results - last.results), max(0, accesses - last.accesses))
        }
        refusedResults.increment(by: Int64(newResults))
        refusedAccesses.increment(by: Int64(newAccesses))
        for status in [JobStatus.running, .succeeded, .partiallyFailed, .failed, .cancelled] {
            registry.makeGauge(name: "medgrid_jobs", labels: [("state", status.rawValue)], help: "Jobs by state").set(Double(jobs[status] ?? 0))
        }
        for phase in [TaskPhase.pending, .leased, .succeeded, .failed, .cancelled] {
            registry.makeGauge(name: "medgrid_tasks", labels: [("state", phase.rawValue)], help: "Tasks of jobs this coordinator has loaded, by state").set(Double(tasks[phase] ?? 0))
        }
        registry.makeGauge(name: "medgrid_leases", help: "Outstanding leases").set(Double(leases))
        registry.makeGauge(name: "medgrid_workers", help: "Connected workers").set(Double(workers))
        return registry.emitToString()
    }
}

/// Counts requests and records their latency.
struct MetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServerMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        defer {
            metrics.requests.increment()
            metrics.latency.record(ContinuousClock.now - start)
        }
        return try await next(request, context)
    }
}
