package dev.retort.safetensors;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/**
 * Named tensors read on demand, whatever file format holds them: a safetensors file, a PyTorch checkpoint, the shards
 * of a Hugging Face model. Callers that take weights read through this, so they do not care which format the user has.
 *
 * <p>{@link TensorInfo#begin()} and {@link TensorInfo#end()} locate a tensor's bytes within the source's own file; only a
 * {@link SafeTensorsFile}'s are offsets into a safetensors data section.
 *
 * @since 1.2
 */
public interface TensorSource extends AutoCloseable {
    /** The file or folder the tensors come from (what messages name). */
    Path path();

    /** A short description of the format, e.g. {@code safetensors} or {@code PyTorch zip checkpoint}. */
    String format();

    /** Tensors by name. */
    Map<String, TensorInfo> tensors();

    /** String metadata the format carries (empty when it has none). */
    Map<String, String> metadata();

    default boolean contains(String name) {
        return tensors().containsKey(name);
    }

    /** The tensor's description; the exception names the file. */
    TensorInfo info(String name) throws IOException;

    /** A floating-point tensor converted to float32 values, row-major. */
    float[] readFloats(String name) throws IOException;

    /** An integer or boolean tensor widened to long values, row-major. */
    long[] readLongs(String name) throws IOException;

    /** The tensor as an NDArray of {@code manager}: float32 for floating types, int64 for integer types. */
    default NDArray read(String name, NDManager manager) throws IOException {
        TensorInfo t = info(name);
        Shape shape = new Shape(t.shape());
        NDArray a = t.dtype().floating() ? manager.create(readFloats(name), shape) : manager.create(readLongs(name), shape);
        a.setName(name);
        return a;
    }

    /** Whether the source carries checksums of its tensors (safetensors files Retort writes, {@link Checksums}); other formats do not. */
    default boolean hasChecksums() {
        return false;
    }

    /** Reads every tensor once against its checksum; a source without checksums passes. */
    default void verify() throws IOException {
    }

    @Override
    void close() throws IOException;
}
