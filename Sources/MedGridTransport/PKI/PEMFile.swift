import Foundation
import MedGridCore
import SwiftASN1
import X509

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reading and writing the PEM files of MedGrid's PKI, with errors that name the file and what was expected.
enum PEMFile {
    /// What a file was supposed to hold, for error messages.
    enum Expected: String {
        case certificate = "a PEM certificate (-----BEGIN CERTIFICATE-----)"
        case privateKey = "a PEM private key (-----BEGIN PRIVATE KEY-----)"
    }

    /// The file's text, or an error naming the file and what should be in it.
    static func read(_ url: URL, expecting expected: Expected, role: String) throws -> String {
        let path = url.path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw MedGridError(.notFound, "\(role) file \(path) does not exist (expected \(expected.rawValue))")
        }
        guard !isDirectory.boolValue else {
            throw MedGridError(.invalidInput, "\(role) file \(path) is a directory (expected \(expected.rawValue))")
        }
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw MedGridError(.io, "cannot read \(role) file \(path) (check its permissions)", cause: error)
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw MedGridError(.invalidInput, "\(role) file \(path) is not text (expected \(expected.rawValue))")
        }
        return text
    }

    /// The PEM blocks in some text.
    static func documents(in text: String, source: String, expecting expected: Expected) throws -> [PEMDocument] {
        guard text.contains("-----BEGIN ") else {
            throw MedGridError(.invalidInput, "\(source) holds no PEM data (expected \(expected.rawValue))")
        }
        do {
            return try PEMDocument.parseMultiple(pemString: text)
        } catch {
            throw MedGridError(.invalidInput, "\(source) is not valid PEM (expected \(expected.rawValue))", cause: error)
        }
    }

    /// Every certificate in some PEM text; at least one.
    static func certificates(in text: String, source: String) throws -> [Certificate] {
        let documents = try documents(in: text, source: source, expecting: .certificate)
        var certificates: [Certificate] = []
        for (index, document) in documents.enumerated() {
            switch document.discriminator {
            case "CERTIFICATE":
                do {
                    certificates.append(try Certificate(derEncoded: document.derBytes))
                } catch {
                    throw MedGridError(
                        .invalidInput,
                        "\(source): PEM block \(index + 1) is not a valid X.509 certificate",
                        cause: error
                    )
                }
            case let other where other.hasSuffix("PRIVATE KEY"):
                throw MedGridError(
                    .invalidInput,
                    "\(source) holds a private key, not a certificate (pass the .pem file without -key)"
                )
            default:
                continue
            }
        }
        guard !certificates.isEmpty else {
            throw MedGridError(.invalidInput, "\(source) holds no certificate (expected \(Expected.certificate.rawValue))")
        }
        return certificates
    }

    /// The one private key in some PEM text.
    static func privateKey(in text: String, source: String) throws -> Certificate.PrivateKey {
        let documents = try documents(in: text, source: source, expecting: .privateKey)
        if documents.contains(where: { $0.discriminator == "CERTIFICATE" }),
            !documents.contains(where: { $0.discriminator.hasSuffix("PRIVATE KEY") })
        {
            throw MedGridError(
                .invalidInput,
                "\(source) holds a certificate, not a private key (pass the -key.pem file)"
            )
        }
        let keys = documents.filter { $0.discriminator.hasSuffix("PRIVATE KEY") }
        guard keys.count == 1, let document = keys.first else {
            throw MedGridError(
                .invalidInput,
                "\(source) holds \(keys.count) private keys (expected exactly one: \(Expected.privateKey.rawValue))"
            )
        }
        do {
            return try Certificate.PrivateKey(pemDocument: document)
        } catch {
            throw MedGridError(.invalidInput, "\(source): the private key cannot be read", cause: error)
        }
    }

    /// Writes `contents` to a new file created with `mode` (never widened later by a chmod).
    ///
    /// Refuses to replace an existing file unless `overwrite`; an overwritten file is removed first so that the new
    /// one gets `mode` rather than keeping the old file's permissions.
    static func createFile(_ contents: String, at url: URL, mode: mode_t, overwrite: Bool) throws {
        let path = url.path
        if overwrite, FileManager.default.fileExists(atPath: path) {
            do {
                try FileManager.default.removeItem(at: url)
            } catch {
                throw MedGridError(.io, "cannot replace \(path)", cause: error)
            }
        }
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard descriptor >= 0 else {
            let code = errno
            if code == EEXIST {
                throw MedGridError(.conflict, "\(path) already exists; not overwriting it (pass --overwrite to replace it)")
            }
            throw MedGridError(.io, "cannot create \(path): \(String(cString: strerror(code)))")
        }
        defer { close(descriptor) }
        var bytes = Array(contents.utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            if written < 0 {
                let code = errno
                if code == EINTR { continue }
                throw MedGridError(.io, "cannot write \(path): \(String(cString: strerror(code)))")
            }
            bytes = bytes.dropFirst(written)
        }
        guard fsync(descriptor) == 0 else {
            throw MedGridError(.io, "cannot flush \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// Throws a clear error if any of `urls` exists (checked before anything is written, so a refusal leaves
    /// no half-written pair behind).
    static func refuseExisting(_ urls: [URL], overwrite: Bool) throws {
        guard !overwrite else { return }
        let existing = urls.filter { FileManager.default.fileExists(atPath: $0.path) }
        guard !existing.isEmpty else { return }
        let names = existing.map(\.path).joined(separator: " and ")
        throw MedGridError(
            .conflict,
            "\(names) already exist\(existing.count == 1 ? "s" : ""); not overwriting (pass --overwrite to replace)"
        )
    }

    /// Makes `directory` (and its parents) if needed.
    static func makeDirectory(_ directory: URL) throws {
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw MedGridError(.io, "cannot create directory \(directory.path)", cause: error)
        }
    }
}

extension Certificate {
    /// The DER encoding.
    var derBytes: [UInt8] {
        get throws {
            var serializer = DER.Serializer()
            try serializer.serialize(self)
            return serializer.serializedBytes
        }
    }

    /// The PEM encoding.
    var pemString: String {
        get throws { try serializeAsPEM().pemString + "\n" }
    }
}
