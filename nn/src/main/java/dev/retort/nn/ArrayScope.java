package dev.retort.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.ArrayList;
import java.util.Collection;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * The arrays of one forward (a network block, a distillation module, the frozen teacher) released when it ends, so
 * that an array lives while something still reads it rather than until the training step ends.
 *
 * <p>DJL attaches the result of an operation to the manager of its first operand. A scope therefore moves its inputs
 * into a sub-manager of the first one's manager while it is open: every array computed from them lands there too, and
 * closing the scope frees them all, after {@link #keep} has moved the results out to the first input's manager and the
 * inputs have gone back where they were. Scopes nest (an input of an inner scope returns to the outer one). Under
 * autograd this is safe: closing a DJL handle only drops one reference, and what the graph saved for the backward
 * stays alive in libtorch until the backward has used it. The exception are arrays that DJL made over Java memory
 * ({@code NDManager.create} from Java arrays or buffers, {@code torch::from_blob}): their memory is Java's and goes with
 * the handle, so such an array that a graph may save must live outside the scope ({@link DeviceConstants} keeps the
 * resize and pooling matrices for the process).
 *
 * <p>An operation whose first operand is not one of the scope's arrays (a parameter: {@code weight.matMul(x)}) puts its
 * result in that operand's manager, outside the scope; code in a scope keeps an activation first. (A
 * {@link DeviceConstants} matrix comes as a handle in the manager of the array it was asked for, so its products stay
 * in the scope.)
 */
public final class ArrayScope implements AutoCloseable {
    private final NDManager outer;
    private final NDManager inner;
    /** Each input and the manager it came from, in order. */
    private final Map<NDArray, NDManager> inputs = new IdentityHashMap<>();
    private final List<NDArray> order = new ArrayList<>();
    private boolean closed;

    private ArrayScope(NDManager outer) {
        this.outer = outer;
        this.inner = outer.newSubManager();
    }

    /** Opens a scope over {@code first} and {@code more}: their managers' sub-manager holds what is computed from them. */
    public static ArrayScope over(NDArray first, NDArray... more) {
        ArrayScope s = new ArrayScope(first.getManager());
        s.take(first);
        for (NDArray a : more) s.take(a);
        return s;
    }

    /** Opens a scope over {@code arrays} (at least one). */
    public static ArrayScope over(Collection<NDArray> arrays) {
        if (arrays.isEmpty()) throw new IllegalArgumentException("a scope needs at least one input");
        ArrayScope s = new ArrayScope(arrays.iterator().next().getManager());
        arrays.forEach(s::take);
        return s;
    }

    /** Opens a scope in a sub-manager of {@code manager} over {@code arrays} (there may be none); kept results go to {@code manager}. */
    public static ArrayScope under(NDManager manager, Collection<NDArray> arrays) {
        ArrayScope s = new ArrayScope(manager);
        arrays.forEach(s::take);
        return s;
    }

    /** Also moves {@code a} into the scope until it closes (an input that arrives later, e.g. a map read in a loop). */
    public NDArray take(NDArray a) {
        if (a == null || inputs.containsKey(a) || a.getManager() == inner) return a;
        inputs.put(a, a.getManager());
        order.add(a);
        a.attach(inner);
        return a;
    }

    /** The scope's manager, for arrays made from nothing (masks, zeros) that are released with it. */
    public NDManager manager() {
        return inner;
    }

    /** The manager that kept results go to: the first input's, or the one the scope was opened under. */
    public NDManager outer() {
        return outer;
    }

    /** Moves {@code result} out to {@link #outer()}, so it outlives the scope; returns it. An input stays as it was. */
    public NDArray keep(NDArray result) {
        return keep(result, outer);
    }

    /** Moves {@code result} to {@code manager}, so it outlives the scope; returns it. An input stays as it was. */
    public NDArray keep(NDArray result, NDManager manager) {
        if (result == null || inputs.containsKey(result)) return result;
        result.attach(manager);
        return result;
    }

    /** {@link #keep} of each of {@code results}; returns them. */
    public <C extends Collection<NDArray>> C keepAll(C results) {
        results.forEach(this::keep);
        return results;
    }

    /** Bytes of the arrays the scope holds now, its inputs included (nested scopes counted). */
    public long bytes() {
        return bytes(inner);
    }

    /** Bytes of every array {@code manager} and its sub-managers hold (a view counts its own extent). */
    public static long bytes(NDManager manager) {
        long b = 0;
        for (NDArray a : manager.getManagedArrays()) {
            if (a.isReleased()) continue;
            b += a.size() * Math.max(1, dataTypeBytes(a));
        }
        return b;
    }

    private static int dataTypeBytes(NDArray a) {
        // a bfloat16 array reads as UNKNOWN (0 bytes) in DJL
        int n = a.getDataType().getNumOfBytes();
        return n == 0 ? 2 : n;
    }

    /** Returns the inputs where they came from, then frees everything else computed in the scope. */
    @Override
    public void close() {
        if (closed) return;
        closed = true;
        for (NDArray a : order) {
            if (a.isReleased() || a.getManager() != inner) continue;  // closed, or kept elsewhere meanwhile
            NDManager home = inputs.get(a);
            if (home.isOpen()) a.attach(home);
        }
        inner.close();
    }
}
