public enum MedGridTesting {}
