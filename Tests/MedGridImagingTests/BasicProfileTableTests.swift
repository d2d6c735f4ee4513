import Testing
import MedGridImaging

/// The PS3.15 Annex E Basic profile table as data (Table E.1-1, 2025e plus the two rows 2026d adds).
struct BasicProfileTableTests {
    @Test("one row per fixed tag, sorted by group and element, no tag or keyword twice")
    func shape() {
        let rows = BasicProfile.rows
        #expect(rows.count == 653)
        let keys = rows.map { UInt32($0.group) << 16 | UInt32($0.element) }
        #expect(keys == keys.sorted() && Set(keys).count == keys.count)
        #expect(Set(rows.map(\.keyword)).count == rows.count)
        #expect(rows.allSatisfy { !$0.keyword.isEmpty && !$0.keyword.contains(" ") })
        // Private (odd-group) attributes are removed by a rule of their own, not by rows.
        #expect(rows.allSatisfy { $0.group % 2 == 0 })
    }

    @Test("rows of PS3.15 Table E.1-1 carry their Basic-profile action (compound actions collapsed to the strictest)",
          arguments: [
            (0x0010, 0x0010, "PatientName", BasicProfileAction.z), (0x0010, 0x0020, "PatientID", .z),
            (0x0010, 0x0030, "PatientBirthDate", .z), (0x0008, 0x0050, "AccessionNumber", .z), (0x0008, 0x0020, "StudyDate", .z),
            (0x0008, 0x0090, "ReferringPhysicianName", .z), (0x0020, 0x000D, "StudyInstanceUID", .u),
            (0x0020, 0x000E, "SeriesInstanceUID", .u), (0x0008, 0x0018, "SOPInstanceUID", .u), (0x0008, 0x0080, "InstitutionName", .x),
            (0x0010, 0x1040, "PatientAddress", .x), (0x0008, 0x0030, "StudyTime", .z),
          ] as [(Int, Int, String, BasicProfileAction)])
    func knownRows(group: Int, element: Int, keyword: String, action: BasicProfileAction) throws {
        let row = try #require(BasicProfile.rows.first { $0.group == UInt16(group) && $0.element == UInt16(element) })
        #expect(row.keyword == keyword)
        #expect(row.action == action)
    }
}
