package dev.retort.safetensors;

import ai.djl.ndarray.NDArray;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.util.LinkedHashMap;
import java.util.Map;
import ai.djl.ndarray.types.DataType;
import java.util.Arrays;

/**
 * Collects tensors and writes one safetensors file atomically (a temporary file beside the target, then a
 * rename), so a crash never leaves a half-written checkpoint under the real name. Every file carries the CRC32C of
 * each tensor's bytes in its metadata ({@link Checksums#KEY}), which {@link SafeTensorsFile} verifies on read.
 */
public final class SafeTensorsWriter {
    private record Pending(DType dtype, long[] shape, float[] floats, long[] longs) {}

    private static final SecureRandom RANDOM = new SecureRandom();
    private final Map<String, Pending> tensors = new LinkedHashMap<>();
    private final Map<String, String> metadata = new LinkedHashMap<>();

    public SafeTensorsWriter metadata(String key, String value) {
        if (key.equals(Checksums.KEY)) throw new IllegalArgumentException("'" + Checksums.KEY + "' is written by the writer itself");
        metadata.put(key, value);
        return this;
    }

    /** Adds floating-point values stored as {@code dtype} (F32, F16, BF16 or F64). */
    public SafeTensorsWriter add(String name, long[] shape, float[] values, DType dtype) {
        if (!dtype.floating()) throw new IllegalArgumentException(name + ": " + dtype + " is not a floating-point type");
        check(name, shape, values.length);
        tensors.put(name, new Pending(dtype, shape.clone(), values.clone(), null));
        return this;
    }

    /** Adds integer values stored as {@code dtype} (I64 or I32). */
    public SafeTensorsWriter add(String name, long[] shape, long[] values, DType dtype) {
        if (dtype != DType.I64 && dtype != DType.I32) throw new IllegalArgumentException(name + ": write integers as I64 or I32");
        check(name, shape, values.length);
        tensors.put(name, new Pending(dtype, shape.clone(), null, values.clone()));
        return this;
    }

    /** Adds an NDArray: float types as {@code floatType}, integer types as I64. */
    public SafeTensorsWriter add(String name, NDArray array, DType floatType) {
        long[] shape = array.getShape().getShape();
        if (array.getDataType().isFloating()) return add(name, shape, array.toType(DataType.FLOAT32, false).toFloatArray(), floatType);
        return add(name, shape, array.toType(DataType.INT64, false).toLongArray(), DType.I64);
    }

    private void check(String name, long[] shape, int length) {
        if (name.equals("__metadata__")) throw new IllegalArgumentException("'__metadata__' is reserved");
        long n = 1;
        for (long d : shape) n *= d;
        if (n != length) throw new IllegalArgumentException(name + ": " + length + " values for shape " + Arrays.toString(shape));
    }

    public void write(Path file) throws IOException {
        // encoded first: the header carries their checksums
        Map<String, ByteBuffer> data = new LinkedHashMap<>();
        tensors.forEach((name, p) -> data.put(name, encode(p)));
        JsonObject header = new JsonObject();
        JsonObject meta = new JsonObject();
        metadata.forEach(meta::addProperty);
        meta.addProperty(Checksums.KEY, Checksums.format(data));
        header.add("__metadata__", meta);
        long offset = 0;
        for (Map.Entry<String, Pending> e : tensors.entrySet()) {
            Pending p = e.getValue();
            long bytes = (p.floats != null ? p.floats.length : p.longs.length) * (long) p.dtype.bytes();
            JsonObject t = new JsonObject();
            t.addProperty("dtype", p.dtype.name());
            JsonArray shape = new JsonArray();
            for (long d : p.shape) shape.add(d);
            t.add("shape", shape);
            JsonArray offsets = new JsonArray();
            offsets.add(offset);
            offsets.add(offset + bytes);
            t.add("data_offsets", offsets);
            header.add(e.getKey(), t);
            offset += bytes;
        }
        byte[] json = header.toString().getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 7) / 8 * 8;  // the format pads the header with spaces to 8 bytes
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        // Not Files.createTempFile: that makes the file 0600, whereas the result should get the same mode as any other
        // file of the folder (the umask), so that a shared run folder's checkpoints are as readable as its logs.
        Path tmp = dir.resolve("." + file.getFileName() + Long.toUnsignedString(RANDOM.nextLong()) + ".tmp");
        try (FileChannel out = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.CREATE_NEW)) {
            ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
            head.putLong(padded).put(json);
            while (head.hasRemaining()) head.put((byte) ' ');
            writeFully(out, head.flip());
            for (ByteBuffer b : data.values()) writeFully(out, b);
            out.force(true);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        try {
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    private static ByteBuffer encode(Pending p) {
        int n = p.floats != null ? p.floats.length : p.longs.length;
        ByteBuffer b = ByteBuffer.allocate(n * p.dtype.bytes()).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) {
            switch (p.dtype) {
                case F32 -> b.putFloat(p.floats[i]);
                case F64 -> b.putDouble(p.floats[i]);
                case F16 -> b.putShort(Half.floatToF16(p.floats[i]));
                case BF16 -> b.putShort(Half.floatToBf16(p.floats[i]));
                case I64 -> b.putLong(p.longs[i]);
                case I32 -> b.putInt(Math.toIntExact(p.longs[i]));
                default -> throw new IllegalStateException(p.dtype.name());
            }
        }
        return b.flip();
    }

    private static void writeFully(FileChannel out, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) out.write(b);
    }
}
