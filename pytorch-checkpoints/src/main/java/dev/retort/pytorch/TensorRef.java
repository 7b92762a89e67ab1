package dev.retort.pytorch;

import java.util.Arrays;

/**
 * A tensor as {@code torch._utils._rebuild_tensor_v2} describes it: a view of a storage, starting at an element offset,
 * with a size and a stride (in elements) per dimension. Checked against the storage before any read.
 */
public record TensorRef(StorageRef storage, long offset, long[] size, long[] stride) {
    public TensorRef {
        size = size.clone();
        stride = stride.clone();
    }

    @Override
    public long[] size() {
        return size.clone();
    }

    @Override
    public long[] stride() {
        return stride.clone();
    }

    /** Number of elements (1 for a 0-d tensor, 0 for an empty one). */
    public long elements() {
        long n = 1;
        for (long d : size) n = Math.multiplyExact(n, d);
        return n;
    }

    /** Storage index of the last element (the view's extent is {@code offset .. lastIndex}); {@code offset - 1} when empty. */
    long lastIndex() {
        if (elements() == 0) return offset - 1;
        long last = offset;
        for (int i = 0; i < size.length; i++) last = Math.addExact(last, Math.multiplyExact(size[i] - 1, stride[i]));
        return last;
    }

    /** True when the elements lie in row-major order with no gaps (dimensions of size 1 may have any stride). */
    boolean contiguous() {
        long expected = 1;
        for (int i = size.length - 1; i >= 0; i--) {
            if (size[i] != 1 && stride[i] != expected) return false;
            expected *= size[i];
        }
        return true;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorRef t && t.storage.equals(storage) && t.offset == offset && Arrays.equals(t.size, size)
                && Arrays.equals(t.stride, stride);
    }

    @Override
    public int hashCode() {
        return storage.hashCode() * 31 + Arrays.hashCode(size);
    }

    @Override
    public String toString() {
        return "tensor " + storage.type().dtype() + Arrays.toString(size);
    }
}
