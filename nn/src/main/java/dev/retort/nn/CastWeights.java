package dev.retort.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import java.util.Collection;
import java.util.IdentityHashMap;
import java.util.Map;

/**
 * Copies of a frozen network's weights in another floating-point type, made once, that {@link Ops} uses in place of
 * the originals on the thread that has {@linkplain #open() opened} them. A network whose parameters all go through
 * {@code Ops} then runs in that type without being rebuilt: its input is cast, each layer reads the copies, and every
 * activation follows their type.
 *
 * <p>The copies are detached (DJL's {@code toType}, or {@link BFloat16} for {@link DataType#BFLOAT16}, which DJL itself
 * cannot make): this is for networks that are never trained (a distillation teacher); mixed-precision training uses
 * {@link Ops#bf16Products()} instead.
 */
public final class CastWeights implements AutoCloseable {
    private static final ThreadLocal<Map<NDArray, NDArray>> CURRENT = new ThreadLocal<>();

    private final Map<NDArray, NDArray> copies = new IdentityHashMap<>();
    private final DataType type;

    /** Casts every array of {@code weights} to {@code type}; each copy lives in its original's manager and device. */
    public CastWeights(Collection<NDArray> weights, DataType type) {
        if (!type.isFloating()) throw new IllegalArgumentException("weights can only be cast to a floating-point type, not " + type);
        this.type = type;
        for (NDArray w : weights) {
            if (w.getDataType().isFloating() && !copies.containsKey(w)) copies.put(w, cast(w, type));
        }
    }

    /** {@code w} in {@code type}, detached, as a new array. */
    private static NDArray cast(NDArray w, DataType type) {
        if (type != DataType.BFLOAT16) return w.toType(type, true);
        try (NDArray bf16 = BFloat16.cast(w)) {
            return bf16.stopGradient();
        }
    }

    /**
     * {@code x} in the floating type {@code type}, bfloat16 included (through {@link BFloat16}, which DJL's own
     * {@code toType} cannot make); {@code x} itself when it has that type already.
     */
    public static NDArray to(NDArray x, DataType type) {
        if (type == DataType.BFLOAT16) return BFloat16.is(x) ? x : BFloat16.cast(x);
        return x.getDataType() == type ? x : x.toType(type, false);
    }

    /** A floating {@code x} (bfloat16 included) in float32; any other array as it is. */
    public static NDArray toFloat32(NDArray x) {
        if (x.getDataType() == DataType.UNKNOWN) return BFloat16.is(x) ? BFloat16.toFloat32(x) : x;
        return x.getDataType().isFloating() ? x.toType(DataType.FLOAT32, false) : x;
    }

    public DataType type() {
        return type;
    }

    /** Number of arrays cast. */
    public int size() {
        return copies.size();
    }

    /** The copy {@code Ops} uses for {@code original} while open, or null. */
    public NDArray copyOf(NDArray original) {
        return copies.get(original);
    }

    /** Makes {@code Ops} use these copies on this thread until the returned scope is closed (scopes nest). */
    public Scope open() {
        Map<NDArray, NDArray> previous = CURRENT.get();
        CURRENT.set(copies);
        return () -> {
            if (previous == null) CURRENT.remove();
            else CURRENT.set(previous);
        };
    }

    /** The array {@code Ops} computes with for {@code weight} on this thread: its open copy, else itself. */
    static NDArray use(NDArray weight) {
        if (weight == null) return null;
        Map<NDArray, NDArray> open = CURRENT.get();
        if (open == null) return weight;
        NDArray copy = open.get(weight);
        return copy == null ? weight : copy;
    }

    /** Frees the copies (the originals stay). */
    @Override
    public void close() {
        copies.values().forEach(NDArray::close);
        copies.clear();
    }

    /** An open {@link CastWeights}; closing restores what the thread used before. */
    public interface Scope extends dev.retort.nn.Scope {}
}
