package dev.retort.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.function.BinaryOperator;

/**
 * Arithmetic between an array and a Java number that stays correct under autograd. Every bundle uses these instead
 * of DJL's {@code NDArray} methods that take a {@code Number} (a test scans the bundles for such calls).
 *
 * <p>Why: in DJL 0.35.1 {@code PtNDArray.mul(Number)} (likewise div, pow, maximum, minimum, mod, add, sub, the
 * in-place forms, and rdiv/rmod through {@code NDArrayEx}) wraps the number in a one-element tensor made with
 * {@code torch::from_blob} over a Java direct buffer, which libtorch does not own, and closes that tensor as soon as
 * the operation returns. Autograd keeps the tensor for the backward of mul, div, pow, maximum, minimum and mod, so
 * once the garbage collector frees the buffer the backward reads freed memory: NaN gradients, or finite wrong ones.
 * Here the number becomes a 0-d tensor that libtorch allocates and owns ({@code NDManager.full}); closing the Java
 * handle only drops one reference, and the graph keeps the value alive for as long as it needs it.
 *
 * <p>The number is rounded to float32, as the callers' {@code (float)} casts did before. The same route serves
 * comparisons ({@link #lt}, {@link #eq}, {@link #neq}): DJL's {@code lt(Number)} and kin make their operand from Java
 * memory, a host-to-device copy on a GPU; {@code NDManager.full} makes it on the device.
 */
public final class Scalars {
    private static final Shape SCALAR = new Shape();

    private Scalars() {}

    /**
     * A 0-d array holding {@code value} in {@code like}'s data type, on its device, in its manager, with storage that
     * libtorch owns. The caller closes it (it is safe to close while a graph that used it awaits its backward).
     */
    public static NDArray of(NDArray like, double value) {
        // a bfloat16 array reads as UNKNOWN, which DJL cannot make: a 0-d float32 scalar leaves its type as it is
        DataType type = like.getDataType() == DataType.UNKNOWN ? DataType.FLOAT32 : like.getDataType();
        NDArray s = like.getManager().full(SCALAR, (float) value, type);
        if (s.getDevice().equals(like.getDevice())) return s;
        try (s) {
            return s.toDevice(like.getDevice(), true);
        }
    }

    /** x · factor. */
    public static NDArray mul(NDArray x, double factor) {
        return apply(x, factor, NDArray::mul);
    }

    /** x / divisor. */
    public static NDArray div(NDArray x, double divisor) {
        return apply(x, divisor, NDArray::div);
    }

    /** x + value. */
    public static NDArray add(NDArray x, double value) {
        return apply(x, value, NDArray::add);
    }

    /** x − value. */
    public static NDArray sub(NDArray x, double value) {
        return apply(x, value, NDArray::sub);
    }

    /** x ^ exponent. */
    public static NDArray pow(NDArray x, double exponent) {
        return apply(x, exponent, NDArray::pow);
    }

    /** x ·= factor, in place; returns x. */
    public static NDArray muli(NDArray x, double factor) {
        return apply(x, factor, NDArray::muli);
    }

    /** x /= divisor, in place; returns x. */
    public static NDArray divi(NDArray x, double divisor) {
        return apply(x, divisor, NDArray::divi);
    }

    /** x += value, in place; returns x. */
    public static NDArray addi(NDArray x, double value) {
        return apply(x, value, NDArray::addi);
    }

    /** x −= value, in place; returns x. */
    public static NDArray subi(NDArray x, double value) {
        return apply(x, value, NDArray::subi);
    }

    /** x &lt; value, elementwise (a boolean array; the number never leaves the device as Java memory). */
    public static NDArray lt(NDArray x, double value) {
        return apply(x, value, NDArray::lt);
    }

    /** x == value, elementwise. */
    public static NDArray eq(NDArray x, double value) {
        return apply(x, value, NDArray::eq);
    }

    /** x != value, elementwise. */
    public static NDArray neq(NDArray x, double value) {
        return apply(x, value, NDArray::neq);
    }

    private static NDArray apply(NDArray x, double value, BinaryOperator<NDArray> op) {
        try (NDArray s = of(x, value)) {
            return op.apply(x, s);
        }
    }
}
