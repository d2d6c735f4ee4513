import ArgumentParser
import Foundation
import MedGridCore
import MedGridCoordinator
import MedGridTransport
import MedGridWorker
import NIOHTTP1

/// `medgrid project`: who may see which jobs, datasets and reports.
struct ProjectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "project",
        abstract: "Manage projects: every job, dataset, report and uploaded file belongs to one.",
        discussion: """
            A user sees only the jobs, reports and datasets of projects they are a member of, and their personal \
            project user-NAME (where a job goes when its manifest names no spec.project). Everything else is \
            answered as if it did not exist. Creating projects and managing members needs an admin certificate \
            against a coordinator; without --coordinator the commands work on the local --state-dir.

              medgrid project create trial-042
              medgrid project add-member trial-042 alice
              medgrid project list --json
            """,
        subcommands: [Create.self, AddMember.self, RemoveMember.self, List.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a project (admin).")
        @Argument(help: ArgumentHelp("The project's name: a-z, 0-9 and -, at most 63 characters.", valueName: "name")) var name: String
        @OptionGroup var state: StateOptions
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            try await reportingErrors {
                if connection.isRemote {
                    try await connection.withClient { client in
                        let _: API.ProjectInfo = try await client.call(.POST, "/v1/projects", body: API.CreateProject(name: name))
                    }
                } else {
                    try Project.validateNew(name)
                    let store = try Store(stateDirectory: state.url)
                    try store.write { tx in try tx.insertProject(name: name, createdBy: "local", now: Date().timeIntervalSince1970) }
                }
                print("created project \(name)")
            }
        }
    }

    struct AddMember: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "add-member", abstract: "Make a user a member of a project (admin).")
        @Argument(help: ArgumentHelp("The project.", valueName: "name")) var name: String
        @Argument(help: ArgumentHelp("The user's certificate name (CN).", valueName: "user")) var user: String
        @OptionGroup var state: StateOptions
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            try await reportingErrors { print(try await setMember(name, user, member: true, state: state, connection: connection)) }
        }
    }

    struct RemoveMember: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "remove-member", abstract: "Remove a user from a project (admin).")
        @Argument(help: ArgumentHelp("The project.", valueName: "name")) var name: String
        @Argument(help: ArgumentHelp("The user's certificate name (CN).", valueName: "user")) var user: String
        @OptionGroup var state: StateOptions
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            try await reportingErrors { print(try await setMember(name, user, member: false, state: state, connection: connection)) }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List projects and their members (an admin sees all; a user their own).")
        @Flag(help: "Print JSON.") var json = false
        @OptionGroup var state: StateOptions
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            try await reportingErrors {
                let list: API.ProjectList
                if connection.isRemote {
                    list = try await connection.withClient { client in try await client.call(.GET, "/v1/projects") }
                } else {
                    let store = try Store(stateDirectory: state.url)
                    list = API.ProjectList(projects: try store.read { try $0.projects() }.map { API.ProjectInfo(name: $0.name, members: $0.members, personal: false) })
                }
                if json {
                    let encoder = JSONEncoder()
                    encoder.outputFormatting = [.sortedKeys]
                    print(String(decoding: try encoder.encode(list), as: UTF8.self))
                    return
                }
                if list.projects.isEmpty { print("no projects") }
                for p in list.projects {
                    print("\(p.name)\(p.personal ? " (personal)" : "")  members: \(p.members.isEmpty ? "-" : p.members.joined(separator: ", "))")
                }
            }
        }
    }
}

/// Adds or removes a member, against the coordinator or the local store; returns what happened, in words.
private func setMember(_ project: String, _ user: String, member: Bool, state: StateOptions, connection: ConnectionOptions) async throws -> String {
    if connection.isRemote {
        return try await connection.withClient { client in
            let reply: [String: String]
            if member {
                reply = try await client.call(.POST, "/v1/projects/\(project)/members", body: API.ProjectMember(user: user))
            } else {
                let escaped = user.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))) ?? user
                reply = try await client.call(.DELETE, "/v1/projects/\(project)/members/\(escaped)")
            }
            return "\(user): \(reply["status"] ?? "done") (project \(project))"
        }
    }
    let store = try Store(stateDirectory: state.url)
    let changed = try store.write { tx -> Bool in
        guard try tx.projectExists(project) else { throw MedGridError(.notFound, "no project \(project) in \(state.url.path)") }
        let t = Date().timeIntervalSince1970
        return member ? try tx.addMember(project: project, user: user, by: "local", now: t) : try tx.removeMember(project: project, user: user, by: "local", now: t)
    }
    return "\(user): \(member ? (changed ? "added" : "already a member") : (changed ? "removed" : "not a member")) (project \(project))"
}
