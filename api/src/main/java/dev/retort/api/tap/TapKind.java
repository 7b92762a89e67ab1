package dev.retort.api.tap;

/** How a tap's tensor is laid out. */
public enum TapKind {
    /** A feature map, shape [B, C, H, W]. */
    MAP,
    /** A token sequence, shape [B, H·W, C], tokens in row-major order. */
    TOKENS
}
