import Foundation
import MedGridCore
import MedGridTesting
@testable import MedGridTransport
import NIOSSL
import SwiftASN1
import Testing
import X509

/// Certificate labels, serials, the deny-list, revocation at the handshake, the validity caps and reloading a
/// rotated certificate.
struct RevocationTests {
    static func der(_ pemFile: URL) throws -> [UInt8] {
        try PEMDocument(pemString: try String(contentsOf: pemFile, encoding: .utf8)).derBytes
    }

    static func mode(_ url: URL) throws -> Int {
        try #require(FileManager.default.attributesOfItem(atPath: url.path)[.posixPermissions] as? Int) & 0o777
    }

    // MARK: Labels

    @Test("Labels signed into a worker certificate come back as PeerIdentity.labels and in tls cert info; none means empty")
    func labelsRoundTrip() throws {
        let pki = try TestPKI()
        let labelled = try pki.issue(.worker, "site-a-1", labels: ["site": "A", "tier": "gpu"])
        let identity = try CertificateIdentity.identity(fromDER: Self.der(labelled.certificate))
        #expect(identity.labels == ["site": "A", "tier": "gpu"])
        #expect(identity.role == .worker && identity.name == "site-a-1")
        let summary = try #require(try CertificateSummary.inspect(pemFile: labelled.certificate).first)
        #expect(summary.labels == ["site": "A", "tier": "gpu"])
        #expect(summary.description.contains("Labels:       site=A, tier=gpu"))
        #expect(identity.serial == summary.serialHex)
        #expect(summary.serialHex == summary.serialNumber.replacingOccurrences(of: ":", with: ""))

        let plain = try pki.issue(.worker, "plain")
        #expect(try CertificateIdentity.identity(fromDER: Self.der(plain.certificate)).labels.isEmpty)
        #expect(try CertificateSummary.inspect(pemFile: plain.certificate).first?.description.contains("Labels:") == false)
    }

    @Test("Labels MedGrid would not issue are refused with the label named", arguments: [
        ["Site": "A"], ["": "A"], ["site": ""], ["site": "A B"], ["-site": "A"], ["site": String(repeating: "a", count: 64)],
    ])
    func badLabels(labels: [String: String]) throws {
        let pki = try TestPKI()
        #expect(throws: MedGridError.self) { try pki.issue(.worker, "w", labels: labels) }
    }

    @Test("--label arguments: key=value, a key given twice or no '=' is an error")
    func parseLabels() throws {
        #expect(try CertificateLabels.parse(["site=A", "zone=eu-1"]) == ["site": "A", "zone": "eu-1"])
        #expect(throws: MedGridError.self) { try CertificateLabels.parse(["site=A", "site=B"]) }
        #expect(throws: MedGridError.self) { try CertificateLabels.parse(["site"]) }
        let tooMany = (0..<17).map { "k\($0)=v" }
        #expect(throws: MedGridError.self) { try CertificateLabels.parse(tooMany) }
    }

    @Test("A malformed label extension is an error, never read as 'no labels'")
    func malformedLabelExtension() throws {
        // Not a SEQUENCE.
        #expect(throws: MedGridError.self) { try CertificateLabels.decode([0x04, 0x01, 0x00]) }
        // A pair with a trailing third element.
        var serializer = DER.Serializer()
        try serializer.appendConstructedNode(identifier: .sequence) { outer in
            try outer.appendConstructedNode(identifier: .sequence) { pair in
                try pair.serialize(ASN1UTF8String("site"))
                try pair.serialize(ASN1UTF8String("A"))
                try pair.serialize(ASN1UTF8String("extra"))
            }
        }
        #expect(throws: MedGridError.self) { try CertificateLabels.decode(serializer.serializedBytes[...]) }
        // The same key twice.
        var twice = DER.Serializer()
        try twice.appendConstructedNode(identifier: .sequence) { outer in
            for value in ["A", "B"] {
                try outer.appendConstructedNode(identifier: .sequence) { pair in
                    try pair.serialize(ASN1UTF8String("site"))
                    try pair.serialize(ASN1UTF8String(value))
                }
            }
        }
        #expect(throws: MedGridError.self) { try CertificateLabels.decode(twice.serializedBytes[...]) }
        // And the well-formed encoding decodes.
        let good = try CertificateLabels.certificateExtension(["site": "A"])
        #expect(good.critical == false)
        #expect(try CertificateLabels.decode(good.value) == ["site": "A"])
    }

    @Test("A labelled certificate's labels reach the server through a real TLS handshake")
    func labelsOverTLS() async throws {
        let pki = try TestPKI()
        let server = try pki.issue(.coordinator, "coordinator")
        let worker = try pki.issue(.worker, "site-b-1", labels: ["site": "B"])
        let outcome = try await Loopback.run(
            server: try TLSFiles.serverConfiguration(certificate: server.certificate, privateKey: server.privateKey, trustRoot: pki.caFile),
            client: try TLSFiles.clientConfiguration(certificate: worker.certificate, privateKey: worker.privateKey, trustRoot: pki.caFile))
        let identity = try outcome.server.get()
        #expect(identity.labels == ["site": "B"])
        #expect(identity.name == "site-b-1")
    }

    // MARK: Validity caps

    @Test("User and admin certificates last at most 397 days, workers and the coordinator 825")
    func validityCaps() throws {
        let pki = try TestPKI()
        for role in [Role.user, .admin] {
            let error = #expect(throws: MedGridError.self) { try pki.ca.issuePEM(role: role, name: "long", validityDays: 398) }
            #expect(error?.message.contains("397") == true, "\(String(describing: error))")
            _ = try pki.ca.issuePEM(role: role, name: "ok", validityDays: 397)
        }
        for role in [Role.worker, .coordinator] {
            let error = #expect(throws: MedGridError.self) { try pki.ca.issuePEM(role: role, name: "long", validityDays: 826) }
            #expect(error?.message.contains("825") == true)
            _ = try pki.ca.issuePEM(role: role, name: "ok", validityDays: 825)
        }
        #expect(throws: MedGridError.self) { try pki.ca.issuePEM(role: .user, name: "zero", validityDays: 0) }
    }

    // MARK: Serials and the deny-list

    @Test("Serials are normalised to lower-case hex without separators or leading zero bytes")
    func serials() throws {
        #expect(try CertificateSerial.normalize("4A:1F:00") == "4a1f00")
        #expect(try CertificateSerial.normalize(" 0x00ff ") == "ff")
        #expect(try CertificateSerial.normalize("abc") == "0abc")
        #expect(throws: MedGridError.self) { try CertificateSerial.normalize("xyz") }
        #expect(throws: MedGridError.self) { try CertificateSerial.normalize("") }
    }

    @Test("The deny-list is written 0644, atomically, once per serial, and its errors name the file")
    func denyListFile() throws {
        let dir = try TestSupport.temporaryDirectory()
        let file = dir.appendingPathComponent(DenyList.defaultFileName)
        #expect(try DenyList.add(DenyList.Entry(serial: "4A:1F", subject: "CN=bob,OU=user,O=MedGrid", reason: "laptop lost"), to: file))
        #expect(try DenyList.add(DenyList.Entry(serial: "4a1f"), to: file) == false, "the same serial again changes nothing")
        #expect(try DenyList.add(DenyList.Entry(serial: "77"), to: file))
        #expect(try Self.mode(file) == 0o644)
        let list = try DenyList.read(file)
        #expect(list.revoked.map(\.serial) == ["4a1f", "77"])
        #expect(list.entry(forSerial: "4A:1F")?.reason == "laptop lost")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".tmp") }
        #expect(leftovers.isEmpty)

        try Data("{\"format\": \"medgrid-deny-list/1\", \"revoked\": [{\"serial\": \"zz\"}]}".utf8).write(to: file)
        let bad = #expect(throws: MedGridError.self) { try DenyList.read(file) }
        #expect(bad?.message.contains(file.path) == true)
        #expect(bad?.message.contains("revoked[0].serial") == true)
        try Data("not json".utf8).write(to: file)
        let notJSON = #expect(throws: MedGridError.self) { try DenyList.read(file) }
        #expect(notJSON?.message.contains("expected JSON") == true)
    }

    @Test("A running deny-list reloads on change, and keeps the last good list when the file breaks or disappears")
    func revocationListReload() throws {
        let dir = try TestSupport.temporaryDirectory()
        let file = dir.appendingPathComponent(DenyList.defaultFileName)
        let list = try RevocationList(file: file)
        #expect(list.count == 0)
        #expect(list.reloadIfChanged() == .unchanged, "no file yet")

        try DenyList.add(DenyList.Entry(serial: "aa"), to: file)
        #expect(list.reloadIfChanged() == .reloaded(count: 1, added: 1, removed: 0))
        #expect(list.entry(forSerial: "AA") != nil)
        #expect(list.reloadIfChanged() == .unchanged)

        try Data("{ broken".utf8).write(to: file)
        guard case .failed = list.reloadIfChanged() else {
            Issue.record("a broken file must be reported")
            return
        }
        #expect(list.entry(forSerial: "aa") != nil, "the last good list stays in force")

        try FileManager.default.removeItem(at: file)
        #expect(list.reloadIfChanged() == .missing(count: 1))
        #expect(list.entry(forSerial: "aa") != nil)

        try DenyList(revoked: [DenyList.Entry(serial: "bb")]).write(to: file)
        #expect(list.reload() == .reloaded(count: 1, added: 1, removed: 1))
        #expect(list.entry(forSerial: "aa") == nil && list.entry(forSerial: "bb") != nil)
    }

    @Test("A malformed deny-list stops the coordinator from starting rather than being ignored")
    func malformedAtStart() throws {
        let dir = try TestSupport.temporaryDirectory()
        let file = dir.appendingPathComponent(DenyList.defaultFileName)
        try Data("[]".utf8).write(to: file)
        #expect(throws: MedGridError.self) { try RevocationList(file: file) }
    }

    @Test("The handshake verifier refuses a revoked certificate and names its CN and serial")
    func verifierRefusesRevoked() async throws {
        let pki = try TestPKI()
        let bob = try pki.issue(.user, "bob")
        let alice = try pki.issue(.user, "alice")
        let bobSerial = try #require(try CertificateSummary.inspect(pemFile: bob.certificate).first).serialHex
        let file = pki.directory.appendingPathComponent(DenyList.defaultFileName)
        try DenyList.add(DenyList.Entry(serial: bobSerial, reason: "left the trial"), to: file)
        let verifier = try ClientCertificateVerifier(
            trustRootPEM: Array(try Data(contentsOf: pki.caFile)), revocations: try RevocationList(file: file))
        let problem = try #require(await verifier.problem(with: [try Self.der(bob.certificate)]))
        #expect(problem.contains("CN=bob"))
        #expect(problem.contains(bobSerial))
        #expect(problem.contains("revoked"))
        #expect(problem.contains("left the trial"))
        #expect(await verifier.problem(with: [try Self.der(alice.certificate)]) == nil)
    }

    // MARK: Reloading

    @Test("A client reloads its rotated certificate: the next handshake presents the new one, one TLS configuration throughout")
    func clientReload() async throws {
        let pki = try TestPKI()
        let server = try pki.issue(.coordinator, "coordinator")
        let first = try pki.issue(.worker, "node07")
        let firstSerial = try CertificateSerial.serial(fromDER: Self.der(first.certificate))
        let reloading = try ReloadingCertificate(certificate: first.certificate, privateKey: first.privateKey, trustRoot: pki.caFile)
        let client = try TLSFiles.clientConfiguration(reloading: reloading, trustRoot: pki.caFile)
        let serverTLS = try TLSFiles.serverConfiguration(certificate: server.certificate, privateKey: server.privateKey, trustRoot: pki.caFile)
        #expect(try await Loopback.run(server: serverTLS, client: client).server.get().serial == firstSerial)

        let renewed = try pki.issue(.worker, "node07", labels: ["site": "A"])  // same files, new key and serial
        let renewedSerial = try CertificateSerial.serial(fromDER: Self.der(renewed.certificate))
        #expect(renewedSerial != firstSerial)
        #expect(try await Loopback.run(server: serverTLS, client: client).server.get().serial == firstSerial, "not before reload")
        let (previous, current) = try reloading.reload()
        #expect(previous.serialHex == firstSerial && current.serialHex == renewedSerial)
        let after = try await Loopback.run(server: serverTLS, client: client).server.get()
        #expect(after.serial == renewedSerial)
        #expect(after.labels == ["site": "A"])
    }

    @Test("A half-rotated, expired or foreign pair is refused on reload and the current certificate kept")
    func refusedReload() throws {
        let pki = try TestPKI()
        let files = try pki.issue(.worker, "node07")
        let reloading = try ReloadingCertificate(certificate: files.certificate, privateKey: files.privateKey, trustRoot: pki.caFile)
        let serial = reloading.current.serialHex
        let oldKey = try Data(contentsOf: files.privateKey)

        _ = try pki.issue(.worker, "node07")
        try oldKey.write(to: files.privateKey)  // the new certificate with the old key
        let mismatch = #expect(throws: MedGridError.self) { try reloading.reload() }
        #expect(mismatch?.message.contains("do not match") == true)
        #expect(reloading.current.serialHex == serial)

        _ = try pki.issue(.worker, "node07", validityDays: 1, now: Date().addingTimeInterval(-3 * 86_400))
        let expired = #expect(throws: MedGridError.self) { try reloading.reload() }
        #expect(expired?.message.contains("expired") == true)
        #expect(reloading.current.serialHex == serial)

        let other = try TestPKI()
        let foreign = try other.issue(.worker, "node07")
        try FileManager.default.removeItem(at: files.certificate)
        try FileManager.default.removeItem(at: files.privateKey)
        try FileManager.default.copyItem(at: foreign.certificate, to: files.certificate)
        try FileManager.default.copyItem(at: foreign.privateKey, to: files.privateKey)
        let wrongCA = #expect(throws: MedGridError.self) { try reloading.reload() }
        #expect(wrongCA?.message.contains("not signed by the CA") == true)
        #expect(reloading.current.serialHex == serial)
    }
}
