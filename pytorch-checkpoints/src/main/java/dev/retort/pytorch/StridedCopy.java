package dev.retort.pytorch;

import dev.retort.safetensors.DType;
import dev.retort.safetensors.HalfFloats;
import java.nio.ByteBuffer;

/**
 * Copies a tensor's elements out of the mapped bytes of its storage into row-major Java arrays: contiguous float32 in
 * one bulk copy, any view (transposed, sliced, stepped, expanded) element by element along its strides. The buffer
 * starts at the view's first element and already has the file's byte order.
 */
final class StridedCopy {
    private StridedCopy() {}

    static void contiguousFloats(ByteBuffer b, DType dt, float[] out, int off, int n) {
        switch (dt) {
            case F32 -> b.asFloatBuffer().get(out, off, n);
            case F64 -> { var d = b.asDoubleBuffer(); for (int i = 0; i < n; i++) out[off + i] = (float) d.get(i); }
            case F16 -> { var s = b.asShortBuffer(); for (int i = 0; i < n; i++) out[off + i] = HalfFloats.f16ToFloat(s.get(i)); }
            case BF16 -> { var s = b.asShortBuffer(); for (int i = 0; i < n; i++) out[off + i] = HalfFloats.bf16ToFloat(s.get(i)); }
            default -> throw new IllegalArgumentException(dt + " is not floating point");
        }
    }

    static void stridedFloats(ByteBuffer b, DType dt, long[] size, long[] stride, float[] out) {
        int esize = dt.bytes();
        long[] index = new long[size.length];
        long element = 0;
        for (int i = 0; i < out.length; i++) {
            int at = (int) (element * esize);
            out[i] = switch (dt) {
                case F32 -> b.getFloat(at);
                case F64 -> (float) b.getDouble(at);
                case F16 -> HalfFloats.f16ToFloat(b.getShort(at));
                case BF16 -> HalfFloats.bf16ToFloat(b.getShort(at));
                default -> throw new IllegalArgumentException(dt + " is not floating point");
            };
            element = next(index, size, stride, element);
        }
    }

    static void stridedLongs(ByteBuffer b, DType dt, long[] size, long[] stride, long[] out) {
        int esize = dt.bytes();
        long[] index = new long[size.length];
        long element = 0;
        for (int i = 0; i < out.length; i++) {
            int at = (int) (element * esize);
            out[i] = switch (dt) {
                case I64 -> b.getLong(at);
                case I32 -> b.getInt(at);
                case I16 -> b.getShort(at);
                case I8 -> b.get(at);
                case U8, BOOL -> b.get(at) & 0xff;
                default -> throw new IllegalArgumentException(dt + " is not an integer type");
            };
            element = next(index, size, stride, element);
        }
    }

    /** Advances a row-major multi-index by one; returns the element offset (from the view's first element) it points at. */
    private static long next(long[] index, long[] size, long[] stride, long element) {
        for (int d = index.length - 1; d >= 0; d--) {
            index[d]++;
            element += stride[d];
            if (index[d] < size[d]) return element;
            element -= stride[d] * size[d];
            index[d] = 0;
        }
        return element;
    }
}
