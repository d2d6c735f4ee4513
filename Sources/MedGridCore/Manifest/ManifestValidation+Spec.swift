import Foundation

extension ManifestValidation {
    mutating func validateInput(_ spec: [String: PositionedNode], _ specNode: PositionedNode, kind: Manifest.Kind?) -> Manifest.Input? {
        let dataset = spec["dataset"], cohort = spec["cohort"]
        if let node = spec["sites"] {
            if dataset != nil || cohort != nil {
                issue(node, "spec.sites", "given together with spec.\(dataset != nil ? "dataset" : "cohort") (expected one input: site-local cohort data, or a central dataset/cohort)")
                return nil
            }
            guard let f = fields(node, "spec.sites", known: ["file", "label", "names"], required: ["file", "names"]) else { return nil }
            let file = string(f["file"], "spec.sites.file")
            if let file, file.contains("/") || file.hasPrefix(".") || !(file.lowercased().hasSuffix(".csv") || file.lowercased().hasSuffix(".xpt")) {
                issue(f["file"]!, "spec.sites.file", "found \"\(file)\", expected a plain .csv or .xpt file name (each site's workers find it in their --site-data folder)")
            }
            let label = f["label"].flatMap { string($0, "spec.sites.label") } ?? "site"
            var names: [String] = []
            if let n = f["names"] {
                if case .list(let items) = n.value, !items.isEmpty {
                    for (i, item) in items.enumerated() {
                        if let s = string(item, "spec.sites.names[\(i)]") {
                            if names.contains(s) { issue(item, "spec.sites.names[\(i)]", "site \(s) is listed twice") } else { names.append(s) }
                        }
                    }
                } else {
                    issue(n, "spec.sites.names", "found \(n.found), expected a non-empty list of site names")
                }
            }
            guard let file, !names.isEmpty else { return nil }
            return .sites(file: file, label: label, names: names)
        }
        switch (dataset, cohort) {
        case (nil, nil):
            issue(specNode, "spec.dataset", "missing (expected spec.dataset, an imaging dataset folder, spec.cohort, a CSV or SAS XPORT table, or spec.sites, site-local cohort data)")
            return nil
        case (.some(let d), .some):
            issue(d, "spec", "both dataset and cohort are given (expected exactly one)")
            return nil
        case (.some(let node), nil):
            guard let path = string(node, "spec.dataset") else { return nil }
            let url = inputOverride ?? resolve(path)
            var isDir: ObjCBool = false
            if !FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) {
                issue(node, "spec.dataset", "\(path) does not exist (resolved to \(url.path); expected a dataset folder with dataset.json)")
                return nil
            }
            if !isDir.boolValue {
                issue(node, "spec.dataset", "\(path) is a file (expected a dataset folder with dataset.json; for a CSV table use spec.cohort)")
                return nil
            }
            do {
                _ = try DecathlonDataset.load(folder: url)
            } catch {
                issue(node, "spec.dataset", "\(error)")
                return nil
            }
            return .dataset(path)
        case (nil, .some(let node)):
            guard let path = string(node, "spec.cohort") else { return nil }
            if kind == .benchmark {
                issue(node, "spec.cohort", "a Benchmark runs over an imaging dataset (expected spec.dataset)")
                return nil
            }
            let url = inputOverride ?? resolve(path)
            var isDir: ObjCBool = false
            if !FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) || isDir.boolValue {
                issue(node, "spec.cohort", "\(path) does not exist or is a folder (resolved to \(url.path); expected a CSV file)")
                return nil
            }
            if !path.lowercased().hasSuffix(".csv") && !path.lowercased().hasSuffix(".xpt") {
                issue(node, "spec.cohort", "\(path) is not a .csv or .xpt file (expected a CSV table or a SAS XPORT file)")
                return nil
            }
            return .cohort(path)
        }
    }

    mutating func validateSharding(_ node: PositionedNode?, input: Manifest.Input?) -> Manifest.Sharding {
        var sharding = Manifest.Sharding()
        guard let node, let f = fields(node, "spec.shard", known: ["casesPerTask", "rowsPerTask", "groupBy"]) else { return sharding }
        if let n = f["casesPerTask"] {
            if case .cohort = input { issue(n, "spec.shard.casesPerTask", "applies to imaging datasets (expected rowsPerTask or groupBy for a cohort)") }
            sharding.casesPerTask = integer(n, "spec.shard.casesPerTask", range: 1...1_000_000) ?? 1
        }
        if let n = f["rowsPerTask"] {
            if case .dataset = input { issue(n, "spec.shard.rowsPerTask", "applies to cohorts (expected casesPerTask for an imaging dataset)") }
            sharding.rowsPerTask = integer(n, "spec.shard.rowsPerTask", range: 1...1_000_000_000) ?? 10_000
        }
        if let n = f["groupBy"] {
            if case .dataset = input { issue(n, "spec.shard.groupBy", "applies to cohorts (expected casesPerTask for an imaging dataset)") }
            if f["rowsPerTask"] != nil { issue(n, "spec.shard.groupBy", "given together with rowsPerTask (expected one of the two)") }
            if let column = string(n, "spec.shard.groupBy") {
                sharding.groupBy = column
                if case .cohort(let path) = input, let header = Self.csvHeader(inputOverride ?? resolve(path)), !header.contains(column) {
                    issue(n, "spec.shard.groupBy", "column \(column) is not in \(path)\(DidYouMean.hint(for: column, among: header)); columns: \(header.joined(separator: ", "))")
                }
            }
        }
        return sharding
    }

    /// The column names on a CSV file's first line.
    static func csvHeader(_ url: URL) -> [String]? {
        guard let h = FileHandle(forReadingAtPath: url.path), let data = try? h.read(upToCount: 64 * 1024) else { return nil }
        try? h.close()
        guard var text = String(data: data, encoding: .utf8) else { return nil }
        if text.hasPrefix("\u{FEFF}") { text.removeFirst() }
        let line = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).first.map(String.init) ?? ""
        return line.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ",", omittingEmptySubsequences: false).map {
            $0.trimmingCharacters(in: CharacterSet(charactersIn: "\" \r"))
        }
    }

    mutating func validateRetries(_ node: PositionedNode?) -> Manifest.RetryPolicy {
        var r = Manifest.RetryPolicy()
        guard let node, let f = fields(node, "spec.retries", known: ["lostWorker", "kernelError", "timeout", "backoffSeconds", "maxBackoffSeconds"]) else { return r }
        r.lostWorker = integer(f["lostWorker"], "spec.retries.lostWorker", range: 0...100) ?? r.lostWorker
        r.kernelError = integer(f["kernelError"], "spec.retries.kernelError", range: 0...100) ?? r.kernelError
        r.timeout = integer(f["timeout"], "spec.retries.timeout", range: 0...100) ?? r.timeout
        r.backoffSeconds = number(f["backoffSeconds"], "spec.retries.backoffSeconds", above: 0, orEqual: true) ?? r.backoffSeconds
        r.maxBackoffSeconds = number(f["maxBackoffSeconds"], "spec.retries.maxBackoffSeconds", above: 0, orEqual: true) ?? r.maxBackoffSeconds
        return r
    }

    mutating func validateJobSteps(_ spec: [String: PositionedNode], _ specNode: PositionedNode, input: Manifest.Input?) -> [Manifest.Step] {
        var steps: [Manifest.Step] = []
        if let stepsNode = spec["steps"] {
            if let k = spec["kernel"] { issue(k, "spec.kernel", "given together with spec.steps (expected one of the two)") }
            if let p = spec["params"] { issue(p, "spec.params", "given together with spec.steps (parameters go on each step)") }
            guard case .list(let items) = stepsNode.value, !items.isEmpty else {
                issue(stepsNode, "spec.steps", "found \(stepsNode.found), expected a non-empty list of steps")
                return []
            }
            for (i, item) in items.enumerated() {
                let path = "spec.steps[\(i)]"
                guard let f = fields(item, path, known: ["kernel", "command", "params", "name"]) else { continue }
                var stepName: String?
                if let n = f["name"], let s = string(n, "\(path).name") {
                    if ManifestValidation.isValidName(s) || s.contains(".") { stepName = s } else {
                        issue(n, "\(path).name", "found \"\(s)\", expected lower-case letters, digits, dots and hyphens")
                    }
                }
                if let step = validateStep(f, item, path: path, input: input, defaultName: stepName) { steps.append(step) }
            }
            if let last = steps.last, let k = last.kernel, catalog.kernel(named: k)?.output == .volume {
                issue(items[items.count - 1], "spec.steps[\(items.count - 1)]", "\(k) gives a volume, so it cannot be the last step; end with a step that gives a result (e.g. imaging.stats)")
            }
            var names = Set<String>()
            for (i, step) in steps.enumerated() where !names.insert(step.name).inserted {
                issue(items[i], "spec.steps[\(i)].name", "step name \(step.name) is used twice (expected unique names; set name: on each step)")
            }
        } else if spec["kernel"] != nil {
            var f: [String: PositionedNode] = ["kernel": spec["kernel"]!]
            f["params"] = spec["params"]
            if let step = validateStep(f, specNode, path: "spec", input: input, defaultName: nil) { steps.append(step) }
            if let only = steps.first, let k = only.kernel, catalog.kernel(named: k)?.output == .volume {
                issue(spec["kernel"]!, "spec.kernel", "\(k) gives a volume; add a step that gives a result after it (e.g. imaging.stats)")
            }
        } else {
            issue(specNode, "spec.kernel", "missing (expected spec.kernel with spec.params, or spec.steps)")
        }
        return steps
    }

    mutating func validateStep(
        _ f: [String: PositionedNode], _ node: PositionedNode, path: String, input: Manifest.Input?, defaultName: String?
    ) -> Manifest.Step? {
        let kernelName = string(f["kernel"], "\(path).kernel")
        var command: [String]?
        if let c = f["command"] {
            if case .list(let parts) = c.value, !parts.isEmpty, parts.allSatisfy({ if case .string = $0.value { true } else { false } }) {
                command = parts.map { if case .string(let s) = $0.value { s } else { "" } }
            } else {
                issue(c, "\(path).command", "found \(c.found), expected a non-empty list of strings (the program and its arguments)")
                return nil
            }
        }
        if kernelName == nil && command == nil {
            if f["kernel"] == nil { issue(node, "\(path).kernel", "missing (expected a kernel name or a command)") }
            return nil
        }
        if kernelName != nil && command != nil {
            issue(f["command"]!, "\(path).command", "given together with kernel (expected one of the two)")
            return nil
        }
        var params: [String: JSONValue] = [:]
        if let p = f["params"] {
            guard case .mapping(let pairs) = p.value else {
                issue(p, "\(path).params", "found \(p.found), expected a mapping of parameter names to values")
                return nil
            }
            for pair in pairs { params[pair.key] = pair.value.json }
            if let kernelName, let kernel = catalog.kernel(named: kernelName) {
                params = checkParams(pairs, kernel: kernel, path: "\(path).params") ?? params
            }
        }
        if let kernelName {
            guard let kernel = catalog.kernel(named: kernelName) else {
                let names = catalog.kernels.map(\.name)
                issue(f["kernel"]!, "\(path).kernel", "unknown kernel \"\(kernelName)\"\(DidYouMean.hint(for: kernelName, among: names)); see medgrid kernel list")
                return nil
            }
            switch (kernel.input, input) {
            case (.imagingCase, .cohort?), (.imagingCase, .sites?):
                issue(f["kernel"]!, "\(path).kernel", "\(kernelName) reads imaging cases, but the job's input is a cohort (expected spec.dataset)")
            case (.cohort, .dataset?):
                issue(f["kernel"]!, "\(path).kernel", "\(kernelName) reads a cohort table, but the job's input is an imaging dataset (expected spec.cohort)")
            default: break
            }
            for p in kernel.parameters where p.required && params[p.name] == nil {
                issue(f["params"] ?? f["kernel"]!, "\(path).params.\(p.name)", "missing (required by \(kernelName): \(p.summary))")
            }
        }
        return Manifest.Step(name: defaultName ?? kernelName ?? "command", kernel: kernelName, command: command, params: params)
    }

    mutating func checkParams(
        _ pairs: [(key: String, keyLine: Int, keyColumn: Int, value: PositionedNode)], kernel: KernelDescription, path: String
    ) -> [String: JSONValue]? {
        var out: [String: JSONValue] = [:]
        let names = kernel.parameters.map(\.name)
        for pair in pairs {
            guard let p = kernel.parameter(pair.key) else {
                issues.append(ManifestIssue(file: file, line: pair.keyLine, column: pair.keyColumn, path: "\(path).\(pair.key)",
                    message: "\(kernel.name) has no parameter \(pair.key)\(DidYouMean.hint(for: pair.key, among: names)); it takes: \(names.isEmpty ? "none" : names.joined(separator: ", "))"))
                continue
            }
            switch p.check(pair.value.json) {
            case .success(let v): out[pair.key] = v
            case .failure(let problem):
                issue(pair.value, "\(path).\(pair.key)", "found \(pair.value.found), expected \(problem.expected)")
            }
        }
        return out
    }

    mutating func validateBenchmark(
        _ spec: [String: PositionedNode], _ specNode: PositionedNode, input: Manifest.Input?
    ) -> ([Manifest.Step], Manifest.BenchmarkSettings?) {
        var steps: [Manifest.Step] = []
        if let node = spec["algorithms"] {
            if case .list(let items) = node.value, !items.isEmpty {
                var names = Set<String>()
                for (i, item) in items.enumerated() {
                    let path = "spec.algorithms[\(i)]"
                    guard let f = fields(item, path, known: ["name", "kernel", "command", "params"], required: ["name"]) else { continue }
                    guard let name = string(f["name"], "\(path).name") else { continue }
                    if !names.insert(name).inserted { issue(f["name"]!, "\(path).name", "algorithm \(name) is listed twice (expected unique names)") }
                    if let step = validateStep(f, item, path: path, input: input, defaultName: name) {
                        if let k = step.kernel, let d = catalog.kernel(named: k), d.output != .volume {
                            issue(f["kernel"]!, "\(path).kernel", "\(k) gives a \(d.output.rawValue), not a segmentation (expected a kernel that gives a mask volume, e.g. imaging.threshold)")
                        }
                        steps.append(step)
                    }
                }
            } else {
                issue(node, "spec.algorithms", "found \(node.found), expected a non-empty list of algorithms")
            }
        } else {
            issue(specNode, "spec.algorithms", "missing (a Benchmark compares at least one algorithm)")
        }
        var metrics: [String] = []
        if let node = spec["metrics"] {
            if case .list(let items) = node.value, !items.isEmpty {
                for (i, item) in items.enumerated() {
                    guard let m = string(item, "spec.metrics[\(i)]") else { continue }
                    if SegmentationMetricName.all.contains(m) && !SegmentationMetricName.available.contains(m) {
                        issue(item, "spec.metrics[\(i)]", "metric \(m) is not available in this version (available: \(SegmentationMetricName.available.joined(separator: ", ")))")
                    } else if SegmentationMetricName.all.contains(m) { metrics.append(m) } else {
                        issue(item, "spec.metrics[\(i)]", "unknown metric \"\(m)\"\(DidYouMean.hint(for: m, among: SegmentationMetricName.all)); expected one of: \(SegmentationMetricName.all.joined(separator: ", "))")
                    }
                }
            } else {
                issue(node, "spec.metrics", "found \(node.found), expected a non-empty list of metric names")
            }
        } else {
            issue(specNode, "spec.metrics", "missing (expected the metrics that score each algorithm, e.g. [dice, hd95])")
        }
        var ranking: [String: JSONValue] = [:]
        if let node = spec["ranking"], let f = fields(node, "spec.ranking", known: ["scheme", "missing", "missingValue", "alpha", "adjust", "bootstrap", "smallerIsBetter"]) {
            let schemes = ["mean-then-rank", "median-then-rank", "rank-then-mean", "test-then-rank"]
            if let s = string(f["scheme"], "spec.ranking.scheme") {
                if schemes.contains(s) { ranking["scheme"] = .string(s) } else {
                    issue(f["scheme"]!, "spec.ranking.scheme", "found \"\(s)\", expected one of: \(schemes.joined(separator: ", "))\(DidYouMean.hint(for: s, among: schemes))")
                }
            }
            if let s = string(f["missing"], "spec.ranking.missing") {
                if ["worst", "constant", "excluded"].contains(s) { ranking["missing"] = .string(s) } else {
                    issue(f["missing"]!, "spec.ranking.missing", "found \"\(s)\", expected worst, constant or excluded")
                }
            }
            if let s = string(f["adjust"], "spec.ranking.adjust") {
                if ["none", "holm"].contains(s) { ranking["adjust"] = .string(s) } else {
                    issue(f["adjust"]!, "spec.ranking.adjust", "found \"\(s)\", expected none or holm")
                }
            }
            if let a = number(f["alpha"], "spec.ranking.alpha", above: 0) {
                if a < 1 { ranking["alpha"] = .double(a) } else { issue(f["alpha"]!, "spec.ranking.alpha", "found \(a), expected a number between 0 and 1") }
            }
            if let b = integer(f["bootstrap"], "spec.ranking.bootstrap", range: 0...1_000_000) { ranking["bootstrap"] = .int(b) }
            if let node = f["smallerIsBetter"] {
                if case .bool(let b) = node.value { ranking["smallerIsBetter"] = .bool(b) } else {
                    issue(node, "spec.ranking.smallerIsBetter", "found \(node.found), expected true or false")
                }
            }
            if let m = f["missingValue"], let d = number(m, "spec.ranking.missingValue", above: -Double.greatestFiniteMagnitude) { ranking["missingValue"] = .double(d) }
        }
        let groundTruth = string(spec["groundTruth"], "spec.groundTruth") ?? "label"
        var options: [String: JSONValue] = ["convention": "surface-elements", "nsdTolerance": 1.0]
        if let node = spec["metricOptions"], let f = fields(node, "spec.metricOptions", known: ["convention", "nsdTolerance"]) {
            if let c = string(f["convention"], "spec.metricOptions.convention") {
                if SegmentationMetricName.surfaceConventions.contains(c) { options["convention"] = .string(c) } else {
                    issue(f["convention"]!, "spec.metricOptions.convention", "found \"\(c)\", expected surface-elements (DeepMind surface-distance) or boundary-voxels (MONAI)")
                }
            }
            if let t = number(f["nsdTolerance"], "spec.metricOptions.nsdTolerance", above: 0, orEqual: true) { options["nsdTolerance"] = .double(t) }
        }
        var settings = Manifest.BenchmarkSettings(metrics: metrics, ranking: ranking, groundTruth: groundTruth)
        settings.metricOptions = options
        return (steps, settings)
    }
}
