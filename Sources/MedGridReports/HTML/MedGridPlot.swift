/// Hand-written SVG plots for benchmark reports. Every plot function returns one self-contained `<svg>`
/// element (no external assets, no scripts) whose root has the classes `medgrid-plot medgrid-plot-<kind>`,
/// `role="img"`, an `aria-label` and a `<title>`; marks carry `<title>` tooltips. Output is deterministic: the
/// same input gives byte-identical SVG (numbers are written with a fixed number of decimals, no random ids,
/// no dictionary-order dependence). All text is escaped with ``HTMLText/escape(_:)``.
///
/// Colours come from the Okabe–Ito colour-blind-safe palette.
public enum MedGridPlot {}
