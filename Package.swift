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
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
    ],
    targets: [
        .target(
            name: "MedGridCore",
            dependencies: [
                .product(name: "Yams", package: "Yams"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "MedGridImaging",
            dependencies: [
                "MedGridCore", "CZlib",
                .product(name: "Crypto", package: "swift-crypto"),
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
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .target(
            name: "MedGridTransport",
            dependencies: [
                "MedGridCore", "CZstd",
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "MedGridCoordinator",
            dependencies: [
                "MedGridCore", "MedGridReports", "MedGridTransport",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "MedGridWorker",
            dependencies: [
                "MedGridCore", "MedGridKernels", "MedGridTransport",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "medgrid",
            dependencies: [
                "MedGridCore", "MedGridImaging", "MedGridCohort", "MedGridKernels", "MedGridReports",
                "MedGridCoordinator", "MedGridWorker", "MedGridTransport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "MedGridTesting",
            dependencies: [
                "MedGridCore", "MedGridCoordinator", "MedGridWorker", "MedGridKernels", "MedGridTransport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
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
            name: "MedGridCohortTests",
            dependencies: ["MedGridCore", "MedGridCohort"],
            resources: [.copy("Reference")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MedGridImagingTests",
            dependencies: ["MedGridCore", "MedGridImaging"],
            resources: [.copy("Reference")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MedGridReportsTests",
            dependencies: ["MedGridCore", "MedGridReports"],
            resources: [.copy("Reference")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MedGridTransportTests",
            dependencies: [
                "MedGridCore", "MedGridTransport", "MedGridTesting",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MedGridGridTests",
            dependencies: [
                "MedGridCore", "MedGridCoordinator", "MedGridWorker", "MedGridKernels", "MedGridReports", "MedGridTesting",
                "MedGridImaging", "MedGridTransport",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
