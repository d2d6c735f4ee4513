// swift-tools-version:6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "medgrid",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "medgrid", targets: ["medgrid"]),
        .library(name: "MedGridCore", targets: ["MedGridCore"]),
        .library(name: "MedGridImaging", targets: ["MedGridImaging"]),
        .library(name: "MedGridCohort", targets: ["MedGridCohort"]),
        .library(name: "MedGridKernels", targets: ["MedGridKernels"]),
        .library(name: "MedGridReports", targets: ["MedGridReports"]),
        .library(name: "MedGridCoordinator", targets: ["MedGridCoordinator"]),
        .library(name: "MedGridWorker", targets: ["MedGridWorker"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/adam-fowler/compress-nio.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    ],
    targets: [
        .target(
            name: "MedGridCore",
            dependencies: [
                .product(name: "Yams", package: "Yams"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "MedGridImaging",
            dependencies: [
                "MedGridCore",
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(name: "MedGridCohort", dependencies: ["MedGridCore"], swiftSettings: swiftSettings),
        .target(
            name: "MedGridKernels",
            dependencies: ["MedGridCore", "MedGridImaging", "MedGridCohort"],
            swiftSettings: swiftSettings
        ),
        .target(name: "MedGridReports", dependencies: ["MedGridCore"], swiftSettings: swiftSettings),
        .target(
            name: "MedGridCoordinator",
            dependencies: [
                "MedGridCore", "MedGridReports",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "MedGridWorker",
            dependencies: [
                "MedGridCore", "MedGridKernels",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "medgrid",
            dependencies: [
                "MedGridCore", "MedGridImaging", "MedGridCohort", "MedGridKernels", "MedGridReports",
                "MedGridCoordinator", "MedGridWorker",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "MedGridTesting",
            dependencies: ["MedGridCore", "MedGridCoordinator", "MedGridWorker", "MedGridKernels"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MedGridCoreTests",
            dependencies: ["MedGridCore", "MedGridTesting"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MedGridKernelTests",
            dependencies: ["MedGridCore", "MedGridImaging", "MedGridCohort", "MedGridKernels", "MedGridTesting"],
            resources: [.copy("Reference")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MedGridGridTests",
            dependencies: ["MedGridCore", "MedGridCoordinator", "MedGridWorker", "MedGridKernels", "MedGridReports", "MedGridTesting"],
            swiftSettings: swiftSettings
        ),
    ]
)
