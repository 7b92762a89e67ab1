package dev.retort.safetensors;

/** Element types of the safetensors format that Retort reads and writes. */
public enum DType {
    F64(8), F32(4), F16(2), BF16(2), I64(8), I32(4), I16(2), I8(1), U8(1), BOOL(1);

    private final int bytes;

    DType(int bytes) {
        this.bytes = bytes;
    }

    /** Bytes per element. */
    public int bytes() {
        return bytes;
    }

    /**
     * Rounds {@code values} in place to what storing them as this floating-point type and reading them back gives
     * (F16 and BF16 round to nearest even, as the writer does; F32 and F64 leave them as they are).
     *
     * @since 1.1
     */
    public void roundInPlace(float[] values) {
        switch (this) {
            case BF16 -> { for (int i = 0; i < values.length; i++) values[i] = Half.bf16ToFloat(Half.floatToBf16(values[i])); }
            case F16 -> { for (int i = 0; i < values.length; i++) values[i] = Half.f16ToFloat(Half.floatToF16(values[i])); }
            case F32, F64 -> { }
            default -> throw new IllegalArgumentException(this + " is not a floating-point type");
        }
    }

    /** True for the floating-point types (read as float32). */
    public boolean floating() {
        return this == F64 || this == F32 || this == F16 || this == BF16;
    }
}
