import Foundation
import Testing
import MedGridCore
import MedGridCoordinator
import MedGridTesting

/// A store written before leaderboards and dataset registrations belonged to projects, opened by this build.
struct StoreUpgradeTests {
    @Test("leaderboards and registrations from before projects move to the project unassigned; versions stay immutable")
    func projectlessRowsMoveToUnassigned() throws {
        let state = try TestSupport.temporaryDirectory("medgrid-upgrade")
        do {
            let old = try Store(stateDirectory: state, migratedUpTo: "v4-projects")
            try old.write { tx in
                try tx.rawExecute("""
                    INSERT INTO leaderboard_versions (name, version, published_at, document) VALUES ('phantom', 1, 1, '{"v":1}'), ('phantom', 2, 2, '{"v":2}');
                    INSERT INTO datasets (location, root, inventory, added_at) VALUES ('/data/phantom', 'abc', '{"files":[],"root":"abc"}', 3);
                    """)
            }
        }
        let store = try Store(stateDirectory: state)
        let boards = try store.read { try $0.leaderboards() }
        #expect(boards.map(\.project) == [Project.unassigned] && boards.map(\.name) == ["phantom"] && boards.map(\.latest) == [2])
        #expect(try store.read { try $0.leaderboardVersions(project: Project.unassigned, name: "phantom") }.map(\.document) == [#"{"v":1}"#, #"{"v":2}"#])
        #expect(try store.read { try $0.datasetProjects(location: "/data/phantom") } == [Project.unassigned])
        #expect(try store.read { try $0.dataset(location: "/data/phantom", project: "user-alice") } == nil)

        // The rebuilt table keeps its guard: published versions cannot be edited or removed.
        #expect(throws: (any Error).self) { try store.write { try $0.rawExecute("UPDATE leaderboard_versions SET document = 'x'") } }
        #expect(throws: (any Error).self) { try store.write { try $0.rawExecute("DELETE FROM leaderboard_versions") } }
        // The same name may now exist in another project with its own history; a version is published once.
        try store.write { try $0.publishLeaderboardVersion(project: "trial-a", name: "phantom", version: 1, document: "{}", now: 4) }
        let again = #expect(throws: MedGridError.self) {
            try store.write { try $0.publishLeaderboardVersion(project: "trial-a", name: "phantom", version: 1, document: "{}", now: 5) }
        }
        #expect(again?.code == .conflict)
        #expect(try store.read { try $0.leaderboards() }.map(\.project) == ["trial-a", Project.unassigned], "by project, then name")
    }
}
