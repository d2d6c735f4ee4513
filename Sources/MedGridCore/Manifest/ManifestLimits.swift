/// The limits every manifest is held to, checked before anything else reads it. A manifest comes from a
/// user (a file for `validate` and `run`, a request body for `submit`), so none of them may make MedGrid use
/// unbounded memory or time.
///
/// YAML anchors (`&name`) and aliases (`*name`) are refused outright, at the first one and before any node
/// is built: an alias repeats a whole subtree, so ten nested aliases ("billion laughs") make a few hundred
/// bytes stand for billions of nodes.
public enum ManifestLimits {
    /// The largest manifest, in bytes: 1 MiB (1,048,576). Checked before the text is parsed; a file is read
    /// no further than this.
    public static let maximumBytes = 1 << 20

    /// The most nodes (scalars, lists and mappings, keys not counted) a manifest may have: 100,000.
    public static let maximumNodes = 100_000

    /// The deepest a manifest may nest lists and mappings: 64 levels.
    public static let maximumDepth = 64

    /// The longest `spec.timeoutSeconds` a manifest may ask for: 604,800 seconds (7 days).
    public static let maximumTimeoutSeconds: Double = 604_800
}
