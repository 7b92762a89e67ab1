package dev.retort.safetensors;

/**
 * The F16 and BF16 conversions of this package, for readers of other formats that store the same encodings.
 *
 * @since 1.2
 */
public final class HalfFloats {
    private HalfFloats() {}

    /** An IEEE half (F16) as a float. */
    public static float f16ToFloat(short bits) {
        return Half.f16ToFloat(bits);
    }

    /** A bfloat16 (BF16) as a float. */
    public static float bf16ToFloat(short bits) {
        return Half.bf16ToFloat(bits);
    }
}
