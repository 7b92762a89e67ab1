package dev.retort.nn;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * Constant arrays that operations build from Java numbers (resize and pooling matrices), uploaded once per device, type
 * and shape and kept for the process, instead of once per step: a step then makes no array from Java data beyond its
 * batch. The arrays belong to a manager per device that outlives every step (and every run), in memory libtorch owns
 * (a graph that saved one for its backward keeps it whatever happens to Java handles); they never require a gradient,
 * and callers must neither close nor change them.
 *
 * <p>Bounded: once the cached arrays hold {@value #LIMIT_BYTES} bytes, further constants are made per call in the
 * caller's manager (each an upload, counted as such), so an endless variety of sizes cannot fill the device.
 * Thread-safe: two threads asking for the same constant at once share one array.
 *
 * <p>A caller gets a handle of its own, in the manager of the array it passed ({@link #matrix}): DJL puts the result
 * of an operation in the manager of its first operand, so a handle in the cache's manager would collect every result
 * computed from it (a product {@code constant.matMul(x)}, a transpose) for the life of the process.
 */
public final class DeviceConstants {
    /** The most bytes the cache keeps, all devices together. */
    public static final long LIMIT_BYTES = 256L << 20;

    private record Key(String kind, List<Integer> sizes, Device device, DataType type) {}

    private static final Map<Device, NDManager> MANAGERS = new ConcurrentHashMap<>();
    private static final Map<Key, NDArray> CACHE = new ConcurrentHashMap<>();
    private static final AtomicLong BYTES = new AtomicLong();

    private DeviceConstants() {}

    /**
     * A float matrix (in {@code like}'s type, on its device) made by {@code values} from {@code kind} and {@code sizes}:
     * {@code values} must give the same numbers for the same kind and sizes.
     *
     * @param shape the matrix's shape ({@code values}' length is its size)
     * @return a handle in {@code like}'s manager on the cached storage (closing it frees nothing the cache holds)
     */
    public static NDArray matrix(String kind, List<Integer> sizes, Shape shape, NDArray like, Supplier<float[]> values) {
        NDArray cached = cached(kind, sizes, shape, like, values);
        if (cached.getManager() == like.getManager()) return cached;  // made per call, beyond the bound
        NDArray handle = cached.reshape(shape);  // a view: the same storage, a handle of the caller's
        handle.attach(like.getManager());
        return handle;
    }

    private static NDArray cached(String kind, List<Integer> sizes, Shape shape, NDArray like, Supplier<float[]> values) {
        Device device = like.getDevice();
        Key key = new Key(kind, List.copyOf(sizes), device, like.getDataType());
        NDArray cached = CACHE.get(key);
        if (cached != null) return cached;
        long bytes = shape.size() * 4;
        if (BYTES.get() + bytes > LIMIT_BYTES) return owned(like.getManager(), values.get(), shape, like);
        return CACHE.computeIfAbsent(key, k -> {
            NDManager owner = MANAGERS.computeIfAbsent(device, d -> NDManager.newBaseManager(d, "PyTorch"));
            BYTES.addAndGet(bytes);
            return owned(owner, values.get(), shape, like);
        });
    }

    /**
     * {@code values} uploaded into {@code manager}, in {@code like}'s type, in memory libtorch owns: DJL may make an array
     * over Java memory, which goes with its handle while a graph that saved it for its backward may still read it.
     */
    private static NDArray owned(NDManager manager, float[] values, Shape shape, NDArray like) {
        NDArray made = HostTransfers.upload(manager, values, shape);
        NDArray typed = Ops.castLike(made, like);
        if (typed == made) typed = made.duplicate();
        typed.attach(manager);
        made.close();
        return typed;
    }

    /** The arrays cached so far (for tests). */
    public static int size() {
        return CACHE.size();
    }

    /** The arrays the cache's managers hold, all devices together: {@link #size()} unless a handle leaked into them. */
    public static int heldArrays() {
        return MANAGERS.values().stream().mapToInt(m -> m.getManagedArrays().size()).sum();
    }
}
