import Foundation
import MedGridCore
import MedGridTesting
@testable import MedGridTransport
import SwiftASN1
import Testing
import X509

/// MedGrid's PKI: a CA created in a directory, certificates issued for each role, read back, and refused when wrong.
struct PKITests {
    static func keyMode(_ url: URL) throws -> Int {
        let attributes = try FileManager.default.attributesOfItem(atPath: url.path)
        return try #require(attributes[.posixPermissions] as? Int) & 0o777
    }

    static func der(_ pemFile: URL) throws -> [UInt8] {
        let text = try String(contentsOf: pemFile, encoding: .utf8)
        return try PEMDocument(pemString: text).derBytes
    }

    static func summary(_ pemFile: URL) throws -> CertificateSummary {
        let summaries = try CertificateSummary.inspect(pemFile: pemFile)
        #expect(summaries.count == 1)
        return try #require(summaries.first)
    }

    @Test("Creating a CA writes ca.pem and a 0600 ca-key.pem holding a CA certificate")
    func createCA() throws {
        let dir = try TestSupport.temporaryDirectory()
        let files = try CertificateAuthority.create(in: dir, commonName: "Test CA")
        #expect(files.certificate.lastPathComponent == "ca.pem")
        #expect(files.privateKey.lastPathComponent == "ca-key.pem")
        #expect(try Self.keyMode(files.privateKey) == 0o600)
        let ca = try Self.summary(files.certificate)
        #expect(ca.isCA)
        #expect(ca.name == "Test CA")
        #expect(ca.subject == ca.issuer)
        #expect(ca.role == nil)
        #expect(ca.status(at: Date()) == "valid")
        #expect(ca.sha256Fingerprint.split(separator: ":").count == 32)
        let loaded = try CertificateAuthority(directory: dir)
        #expect(loaded.commonName == "Test CA")
    }

    @Test("Each role gets its own file names, a 0600 key, and its role and name in the certificate", arguments: Role.allCases)
    func issueRole(role: Role) throws {
        let dir = try TestSupport.temporaryDirectory()
        try CertificateAuthority.create(in: dir)
        let ca = try CertificateAuthority(directory: dir)
        let files = try ca.issue(role: role, name: "node-07.a_b", into: dir)
        let expected: String
        switch role {
        case .coordinator: expected = "coordinator"
        case .worker: expected = "worker-node-07.a_b"
        case .user, .admin: expected = "user-node-07.a_b"
        }
        #expect(files.certificate.lastPathComponent == "\(expected).pem")
        #expect(files.privateKey.lastPathComponent == "\(expected)-key.pem")
        #expect(try Self.keyMode(files.privateKey) == 0o600)

        let summary = try Self.summary(files.certificate)
        #expect(summary.role == role)
        #expect(summary.name == "node-07.a_b")
        #expect(summary.subject == "CN=node-07.a_b,OU=\(role.rawValue),O=MedGrid")
        #expect(summary.issuer == "CN=MedGrid CA,O=MedGrid")
        #expect(!summary.isCA)
        #expect(summary.extendedKeyUsages == (role == .coordinator ? ["serverAuth", "clientAuth"] : ["clientAuth"]))
        #expect(summary.serialNumber.split(separator: ":").count == 16)

        let identity = try CertificateIdentity.identity(fromDER: Self.der(files.certificate))
        #expect(identity == PeerIdentity(role: role, name: "node-07.a_b", notAfter: summary.notAfter, serial: summary.serialHex))
        #expect(TLSDiagnosis.checkChain(certificate: files.certificate, trustRoot: dir.appendingPathComponent("ca.pem")) == nil)
    }

    @Test("The coordinator's names default to localhost, 127.0.0.1 and ::1")
    func coordinatorDefaultNames() throws {
        let ca = try CertificateAuthority()
        let issued = try ca.issuePEM(role: .coordinator, name: "coordinator")
        let summary = try CertificateSummary(derEncoded: PEMDocument(pemString: String(decoding: issued.certificatePEM, as: UTF8.self)).derBytes)
        #expect(summary.subjectAlternativeNames == ["DNS:localhost", "IP:127.0.0.1", "IP:::1"])
    }

    @Test("IP literals become IP names and everything else DNS names")
    func subjectAlternativeNames() throws {
        let dir = try TestSupport.temporaryDirectory()
        try CertificateAuthority.create(in: dir)
        let ca = try CertificateAuthority(directory: dir)
        let files = try ca.issue(
            role: .coordinator,
            name: "grid",
            subjectAlternativeNames: ["Grid.Example.org", "10.0.0.5", "fe80::1", "[2001:db8::7]", "*.nodes.example.org"],
            into: dir
        )
        let summary = try Self.summary(files.certificate)
        #expect(summary.subjectAlternativeNames == [
            "DNS:grid.example.org", "IP:10.0.0.5", "IP:fe80::1", "IP:2001:db8::7", "DNS:*.nodes.example.org",
        ])
        #expect(throws: MedGridError.self) {
            try ca.issue(role: .worker, name: "w", subjectAlternativeNames: ["not a name"], into: dir)
        }
        // Workers have no names unless asked.
        let worker = try Self.summary(ca.issue(role: .worker, name: "w1", into: dir).certificate)
        #expect(worker.subjectAlternativeNames.isEmpty)
    }

    @Test("A leaf starts five minutes before it is issued and lasts validityDays")
    func validityWindow() throws {
        let ca = try CertificateAuthority()
        let now = Date(timeIntervalSince1970: 1_750_000_000)
        let issued = try ca.issuePEM(role: .user, name: "ana", validityDays: 30, now: now)
        let summary = try CertificateSummary(derEncoded: PEMDocument(pemString: String(decoding: issued.certificatePEM, as: UTF8.self)).derBytes)
        #expect(summary.notBefore == now.addingTimeInterval(-300))
        #expect(summary.notAfter == now.addingTimeInterval(30 * 86_400))
    }

    @Test("An existing CA is not overwritten unless asked, and then its key is still 0600")
    func refuseToOverwriteCA() throws {
        let dir = try TestSupport.temporaryDirectory()
        let first = try CertificateAuthority.create(in: dir)
        let before = try Self.summary(first.certificate).sha256Fingerprint
        let error = try #require(throws: MedGridError.self) { try CertificateAuthority.create(in: dir) }
        #expect(error.code == .conflict)
        #expect(error.message.contains("ca.pem"))
        #expect(error.message.contains("not overwriting"))
        #expect(try Self.summary(first.certificate).sha256Fingerprint == before)

        // A lone leftover key also blocks, and nothing is half-written.
        let other = try TestSupport.temporaryDirectory()
        try Data("x".utf8).write(to: other.appendingPathComponent("ca-key.pem"))
        #expect(throws: MedGridError.self) { try CertificateAuthority.create(in: other) }
        #expect(!FileManager.default.fileExists(atPath: other.appendingPathComponent("ca.pem").path))

        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: first.privateKey.path)
        let second = try CertificateAuthority.create(in: dir, overwrite: true)
        #expect(try Self.summary(second.certificate).sha256Fingerprint != before)
        #expect(try Self.keyMode(second.privateKey) == 0o600)
    }

    @Test("An issued certificate is not overwritten unless asked")
    func refuseToOverwriteLeaf() throws {
        let dir = try TestSupport.temporaryDirectory()
        try CertificateAuthority.create(in: dir)
        let ca = try CertificateAuthority(directory: dir)
        try ca.issue(role: .worker, name: "n1", into: dir)
        let error = try #require(throws: MedGridError.self) { try ca.issue(role: .worker, name: "n1", into: dir) }
        #expect(error.message.contains("worker-n1.pem"))
        try ca.issue(role: .worker, name: "n1", into: dir, overwrite: true)
    }

    @Test("Names must be 1–64 characters of letters, digits, '.', '_' and '-'", arguments: [
        "", "a b", "../etc", "x/y", "ümlaut", String(repeating: "a", count: 65), "..",
    ])
    func invalidNames(name: String) throws {
        let ca = try CertificateAuthority()
        let error = try #require(throws: MedGridError.self) { try ca.issuePEM(role: .worker, name: name) }
        #expect(error.code == .invalidInput)
        #expect(error.message.contains("invalid certificate name"))
    }

    @Test("Loading a CA names the missing, malformed or mismatched file")
    func loadErrors() throws {
        let empty = try TestSupport.temporaryDirectory()
        let missing = try #require(throws: MedGridError.self) { try CertificateAuthority(directory: empty) }
        #expect(missing.code == .notFound)
        #expect(missing.message.contains("ca.pem does not exist"))

        let malformed = try TestSupport.temporaryDirectory()
        try CertificateAuthority.create(in: malformed)
        try Data("hello\n".utf8).write(to: malformed.appendingPathComponent("ca.pem"))
        let bad = try #require(throws: MedGridError.self) { try CertificateAuthority(directory: malformed) }
        #expect(bad.message.contains("ca.pem holds no PEM data"))

        let truncated = try TestSupport.temporaryDirectory()
        try CertificateAuthority.create(in: truncated)
        let keyURL = truncated.appendingPathComponent("ca-key.pem")
        let keyText = try String(contentsOf: keyURL, encoding: .utf8)
        try Data(keyText.prefix(60).utf8).write(to: keyURL)
        let cut = try #require(throws: MedGridError.self) { try CertificateAuthority(directory: truncated) }
        #expect(cut.message.contains("ca-key.pem"))

        // Another CA's key.
        let a = try TestSupport.temporaryDirectory()
        let b = try TestSupport.temporaryDirectory()
        try CertificateAuthority.create(in: a)
        try CertificateAuthority.create(in: b)
        try FileManager.default.removeItem(at: a.appendingPathComponent("ca-key.pem"))
        try FileManager.default.copyItem(at: b.appendingPathComponent("ca-key.pem"), to: a.appendingPathComponent("ca-key.pem"))
        let mismatch = try #require(throws: MedGridError.self) { try CertificateAuthority(directory: a) }
        #expect(mismatch.message.contains("do not match"))

        // A leaf is not a CA.
        let leafDir = try TestSupport.temporaryDirectory()
        let ca = try CertificateAuthority()
        let issued = try ca.issuePEM(role: .worker, name: "w")
        try Data(issued.certificatePEM).write(to: leafDir.appendingPathComponent("ca.pem"))
        try Data(issued.privateKeyPEM).write(to: leafDir.appendingPathComponent("ca-key.pem"))
        let notCA = try #require(throws: MedGridError.self) { try CertificateAuthority(directory: leafDir) }
        #expect(notCA.message.contains("is not a CA certificate"))
    }

    @Test("Inspecting explains a missing file, a key file and malformed PEM")
    func inspectErrors() throws {
        let dir = try TestSupport.temporaryDirectory()
        let files = try CertificateAuthority.create(in: dir)

        let missing = try #require(throws: MedGridError.self) {
            try CertificateSummary.inspect(pemFile: dir.appendingPathComponent("nope.pem"))
        }
        #expect(missing.message.contains("nope.pem does not exist"))

        let key = try #require(throws: MedGridError.self) { try CertificateSummary.inspect(pemFile: files.privateKey) }
        #expect(key.message.contains("holds a private key, not a certificate"))

        let garbage = dir.appendingPathComponent("garbage.pem")
        try Data("-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n".utf8).write(to: garbage)
        let malformed = try #require(throws: MedGridError.self) { try CertificateSummary.inspect(pemFile: garbage) }
        #expect(malformed.message.contains("garbage.pem"))
    }

    @Test("A file with several certificates gives one summary each, in order")
    func inspectBundle() throws {
        let dir = try TestSupport.temporaryDirectory()
        let files = try CertificateAuthority.create(in: dir)
        let leaf = try CertificateAuthority(directory: dir).issue(role: .worker, name: "w", into: dir)
        let bundle = dir.appendingPathComponent("bundle.pem")
        try Data(try Data(contentsOf: leaf.certificate) + Data(contentsOf: files.certificate)).write(to: bundle)
        let summaries = try CertificateSummary.inspect(pemFile: bundle)
        #expect(summaries.map(\.name) == ["w", "MedGrid CA"])
        #expect(summaries[0].description.contains("Role:         worker"))
        #expect(summaries[1].description.contains("CA:           yes"))
    }

    @Test("Certificates issued in the past or future read as expired or not yet valid")
    func expiredAndNotYetValid() throws {
        let dir = try TestSupport.temporaryDirectory()
        try CertificateAuthority.create(in: dir, now: Date().addingTimeInterval(-100 * 86_400))
        let ca = try CertificateAuthority(directory: dir)
        let now = Date()
        let old = try ca.issue(role: .worker, name: "old", validityDays: 30, into: dir, now: now.addingTimeInterval(-40 * 86_400))
        let future = try ca.issue(role: .worker, name: "future", validityDays: 30, into: dir, now: now.addingTimeInterval(10 * 86_400))
        let current = try ca.issue(role: .worker, name: "current", into: dir)

        // Checked an hour later, so the exact 10-day boundary cannot round down to 9.
        #expect(try Self.summary(old.certificate).status(at: now.addingTimeInterval(3600)) == "expired 10 days ago")
        #expect(try Self.summary(future.certificate).status(at: now) == "not yet valid")
        #expect(try Self.summary(current.certificate).status(at: now) == "valid")

        let expiredWarning = try #require(TLSDiagnosis.checkValidity(certificatePEM: old.certificate, at: now.addingTimeInterval(3600)))
        #expect(expiredWarning.contains("CN=old (worker) expired 10 days ago"))
        let futureWarning = try #require(TLSDiagnosis.checkValidity(certificatePEM: future.certificate, at: now))
        #expect(futureWarning.contains("is not valid until"))
        #expect(TLSDiagnosis.checkValidity(certificatePEM: current.certificate, at: now) == nil)
    }

    @Test("A certificate without a MedGrid role is refused with a clear message")
    func noRole() throws {
        let dir = try TestSupport.temporaryDirectory()
        let files = try CertificateAuthority.create(in: dir, commonName: "x")
        let error = try #require(throws: MedGridError.self) {
            try CertificateIdentity.identity(fromDER: Self.der(files.certificate))
        }
        #expect(error.message == "certificate CN=x has no MedGrid role (expected OU coordinator, worker, user or admin)")
        #expect(throws: MedGridError.self) { try CertificateIdentity.identity(fromDER: [0x30, 0x03, 0x01]) }
    }

    @Test("A certificate from another CA is reported by checkChain")
    func foreignCA() throws {
        let ours = try TestSupport.temporaryDirectory()
        let theirs = try TestSupport.temporaryDirectory()
        try CertificateAuthority.create(in: ours)
        try CertificateAuthority.create(in: theirs, commonName: "Other CA")
        let foreign = try CertificateAuthority(directory: theirs).issue(role: .worker, name: "w", into: theirs)
        let warning = try #require(
            TLSDiagnosis.checkChain(certificate: foreign.certificate, trustRoot: ours.appendingPathComponent("ca.pem"))
        )
        #expect(warning.contains("is not signed by the CA in"))
        #expect(warning.contains("CN=Other CA"))
    }
}
