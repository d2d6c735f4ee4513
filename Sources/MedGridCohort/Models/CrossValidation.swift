public import MedGridCore

/// An assignment of rows to k cross-validation folds.
///
/// Seeded algorithm (``stratified(outcome:folds:seed:)``): classes are taken in ascending order of their
/// value; the rows of each class, in row order, are shuffled by Fisher–Yates with one
/// ``Xoshiro256StarStar`` stream seeded with `seed` (shared by all classes, in class order), then dealt
/// round-robin to the folds, each class continuing from the fold after the one where the previous class
/// stopped. Hence for every class the per-fold counts differ by at most 1, and so do the fold sizes. This is
/// not scikit-learn's `StratifiedKFold` shuffle (different generator and dealing), only the same guarantee.
public struct CrossValidationFolds: Sendable, Hashable, Codable {
    /// The fold (0-based) of each row.
    public var assignment: [Int]
    public var foldCount: Int
    /// The seed, or `nil` for an explicit assignment.
    public var seed: UInt64?

    /// Explicit folds.
    ///
    /// - Throws: ``CohortError`` `invalidArgument` if a fold number is outside `0..<foldCount`, a fold is
    ///   empty, or `foldCount < 2`.
    public init(assignment: [Int], foldCount: Int) throws {
        guard foldCount >= 2 else {
            throw CohortError(file: "<folds>", code: .invalidArgument, message: "\(foldCount) folds (expected at least 2)")
        }
        var sizes = [Int](repeating: 0, count: foldCount)
        for (r, f) in assignment.enumerated() {
            guard f >= 0, f < foldCount else {
                throw CohortError(file: "<folds>", row: r + 1, code: .invalidArgument, message: "fold \(f) (expected 0..<\(foldCount))")
            }
            sizes[f] += 1
        }
        if let empty = sizes.firstIndex(of: 0) {
            throw CohortError(file: "<folds>", code: .invalidArgument, message: "fold \(empty) has no rows")
        }
        self.assignment = assignment
        self.foldCount = foldCount
        self.seed = nil
    }

    /// Seeded stratified folds (see ``CrossValidationFolds``).
    ///
    /// - Throws: ``CohortError`` `invalidArgument` if `folds < 2` or there are fewer rows than folds.
    public static func stratified(outcome: [Double], folds k: Int, seed: UInt64) throws -> CrossValidationFolds {
        guard k >= 2, outcome.count >= k else {
            throw CohortError(file: "<folds>", code: .invalidArgument, message: "\(k) folds for \(outcome.count) rows (expected 2 ≤ folds ≤ rows)")
        }
        var rng = Xoshiro256StarStar(seed: seed)
        var byClass: [Double: [Int]] = [:]
        for (r, y) in outcome.enumerated() { byClass[y, default: []].append(r) }
        var assignment = [Int](repeating: 0, count: outcome.count)
        var next = 0
        for value in byClass.keys.sorted() {
            var rows = byClass[value]!
            if rows.count > 1 {
                for i in stride(from: rows.count - 1, to: 0, by: -1) {
                    rows.swapAt(i, rng.below(i + 1))
                }
            }
            for r in rows {
                assignment[r] = next
                next = (next + 1) % k
            }
        }
        var folds = try CrossValidationFolds(assignment: assignment, foldCount: k)
        folds.seed = seed
        return folds
    }

    /// Row indices (ascending) of the training and test parts of fold `f`.
    public func split(_ f: Int) -> (training: [Int], test: [Int]) {
        var training: [Int] = [], test: [Int] = []
        for (r, g) in assignment.enumerated() {
            if g == f { test.append(r) } else { training.append(r) }
        }
        return (training, test)
    }

    /// This value and every setting that produced it, as JSON (non-finite numbers become `null`).
    public func json() -> JSONValue {
        [
            "folds": .int(foldCount), "seed": seed.map { .string(String($0)) } ?? .null,
            "method": .string(seed == nil ? "explicit" : "stratified round-robin after per-class Fisher-Yates shuffle (xoshiro256**)"),
        ]
    }
}

/// Cross-validated discrimination of a logistic model.
///
/// For each fold: optionally standardise the features with a ``Standardisation`` fitted on the training rows
/// only (as a scikit-learn `Pipeline(StandardScaler, LogisticRegression)` does), fit ``LogisticModel`` on the
/// training rows, predict the held-out rows. ``foldAUCs`` are the per-fold AUCs (Mann–Whitney, as
/// ``ROCAUC``); ``meanAUC`` their unweighted mean (scikit-learn `cross_val_score(..., scoring="roc_auc")`
/// then `.mean()`); ``pooled`` the ``ROCAUC`` of all out-of-fold predictions together.
public struct CrossValidatedAUC: Sendable, Hashable, Codable {
    public var foldAUCs: [Double]
    public var meanAUC: Double
    public var pooled: ROCAUC
    /// Out-of-fold predicted probability of every row.
    public var outOfFoldPredictions: [Double]
    public var folds: CrossValidationFolds
    public var settings: LogisticSettings
    /// The standardisation convention used inside each fold, or `nil` for none.
    public var standardisation: Standardisation.SDConvention?

    /// - Throws: ``CohortError`` if the folds do not match the rows, a held-out fold lacks one of the classes,
    ///   or a fold's model cannot be fitted.
    public static func logistic(
        _ data: BinaryOutcomeData, folds: CrossValidationFolds, settings: LogisticSettings = LogisticSettings(),
        standardisation: Standardisation.SDConvention? = .population
    ) throws -> CrossValidatedAUC {
        guard folds.assignment.count == data.rowCount else {
            throw CohortError(file: "<folds>", code: .invalidArgument, message: "\(folds.assignment.count) fold assignments for \(data.rowCount) rows")
        }
        var oof = [Double](repeating: .nan, count: data.rowCount)
        var aucs: [Double] = []
        for f in 0..<folds.foldCount {
            let (trainRows, testRows) = folds.split(f)
            var train = data.rows(at: trainRows)
            var test = data.rows(at: testRows)
            if let convention = standardisation {
                let scaler = try Standardisation.fit(train.features, convention: convention)
                train.features = scaler.transform(train.features)
                test.features = scaler.transform(test.features)
            }
            let model = try LogisticModel.fit(train, settings: settings)
            let p = model.predictProbabilities(test.features)
            for (k, r) in testRows.enumerated() { oof[r] = p[k] }
            guard let auc = areaUnderCurve(scores: p, outcome: test.outcome) else {
                throw CohortError(file: "<folds>", code: .invalidArgument, message: "fold \(f) has held-out rows of only one class (AUC undefined)")
            }
            aucs.append(auc)
        }
        var sum = ExactSum()
        for a in aucs { sum.add(a) }
        return CrossValidatedAUC(
            foldAUCs: aucs, meanAUC: sum.value / Double(aucs.count),
            pooled: try ROCAUC.compute(scores: oof, outcome: data.outcome), outOfFoldPredictions: oof, folds: folds,
            settings: settings, standardisation: standardisation
        )
    }

    /// Mann–Whitney AUC with ties as ½, or `nil` if a class is absent.
    static func areaUnderCurve(scores: [Double], outcome: [Double]) -> Double? {
        let ranks = ROCAUC.midRanks(scores)
        var m = 0
        var rankSum = ExactSum()
        for i in scores.indices where outcome[i] == 1 {
            m += 1
            rankSum.add(ranks[i])
        }
        let n = scores.count - m
        guard m > 0, n > 0 else { return nil }
        rankSum.add(-Double(m) * Double(m + 1) / 2)
        return rankSum.value / (Double(m) * Double(n))
    }

    /// This value and every setting that produced it, as JSON (non-finite numbers become `null`).
    public func json() -> JSONValue {
        [
            "model": "logistic regression", "settings": settings.json(), "folds": folds.json(),
            "standardisation": standardisation.map { .string($0.rawValue) } ?? .null,
            "standardisation_fitted_on": "training rows of each fold",
            "fold_aucs": .array(foldAUCs.map { .number($0) }), "mean_auc": .number(meanAUC), "pooled": pooled.json(),
        ]
    }
}
