package dev.retort.safetensors;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An open safetensors file. The header is read and checked up front (bounded length, every tensor's byte range
 * inside the data section and consistent with its dtype and shape, no overlaps); tensors are read on demand. A file
 * that carries checksums ({@link Checksums#KEY}, every file Retort writes) has each tensor's bytes checked against its
 * CRC32C whenever they are read: a mismatch is refused, naming the file and the tensor.
 */
public final class SafeTensorsFile implements TensorSource {
    /** Largest header accepted (the format's own reference implementation uses the same bound). */
    public static final long MAX_HEADER_BYTES = 100L << 20;

    private final Path path;
    private final FileChannel channel;
    private final long dataStart;
    private final Map<String, TensorInfo> tensors;
    private final Map<String, String> metadata;
    private final Map<String, Integer> checksums;

    private SafeTensorsFile(Path path, FileChannel channel, long dataStart, Map<String, TensorInfo> tensors,
                            Map<String, String> metadata, Map<String, Integer> checksums) {
        this.path = path;
        this.channel = channel;
        this.dataStart = dataStart;
        this.tensors = tensors;
        this.metadata = metadata;
        this.checksums = checksums;
    }

    /** Opens and validates a file. */
    public static SafeTensorsFile open(Path path) throws IOException {
        FileChannel channel;
        try {
            channel = FileChannel.open(path, StandardOpenOption.READ);
        } catch (NoSuchFileException e) {
            throw new SafeTensorsException(path + ": no such file");
        }
        try {
            return parse(path, channel);
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    private static SafeTensorsFile parse(Path path, FileChannel channel) throws IOException {
        long size = channel.size();
        if (size < 8) throw new SafeTensorsException(path + ": " + size + " bytes is too short for a safetensors file");
        ByteBuffer len = readFully(channel, 0, 8, path).order(ByteOrder.LITTLE_ENDIAN);
        long headerLength = len.getLong();
        if (headerLength < 2 || headerLength > MAX_HEADER_BYTES || headerLength > size - 8) {
            throw new SafeTensorsException(path + ": header length " + headerLength + " is invalid for a file of "
                    + size + " bytes (at most " + MAX_HEADER_BYTES + ")");
        }
        String json = StandardCharsets.UTF_8.decode(readFully(channel, 8, (int) headerLength, path)).toString();
        JsonObject header;
        try {
            JsonElement parsed = JsonParser.parseString(json);
            if (!parsed.isJsonObject()) throw new SafeTensorsException(path + ": header is not a JSON object");
            header = parsed.getAsJsonObject();
        } catch (JsonParseException e) {
            Throwable root = e;
            while (root.getCause() != null && root.getCause() != root) root = root.getCause();  // gson's own message, without its class name
            String why = String.valueOf(root.getMessage()).lines().findFirst().orElse("").strip();  // without gson's troubleshooting link
            throw new SafeTensorsException(path + ": header is not valid JSON (" + why + ")");
        }
        long dataStart = 8 + headerLength;
        long dataSize = size - dataStart;
        Map<String, String> metadata = new LinkedHashMap<>();
        List<TensorInfo> infos = new ArrayList<>();
        for (Map.Entry<String, JsonElement> e : header.entrySet()) {
            if (e.getKey().equals("__metadata__")) {
                if (!e.getValue().isJsonObject()) throw new SafeTensorsException(path + ": __metadata__ is not an object");
                for (Map.Entry<String, JsonElement> m : e.getValue().getAsJsonObject().entrySet()) {
                    metadata.put(m.getKey(), m.getValue().isJsonPrimitive() ? m.getValue().getAsString() : m.getValue().toString());
                }
                continue;
            }
            infos.add(tensorInfo(path, e.getKey(), e.getValue(), dataSize));
        }
        infos.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
        for (int i = 1; i < infos.size(); i++) {
            TensorInfo a = infos.get(i - 1), b = infos.get(i);
            if (b.begin() < a.end()) {
                throw new SafeTensorsException(path + ": tensors " + a.name() + " and " + b.name() + " overlap");
            }
        }
        Map<String, TensorInfo> byName = new LinkedHashMap<>();
        infos.stream().sorted(Comparator.comparing(TensorInfo::name)).forEach(t -> byName.put(t.name(), t));
        Map<String, Integer> checksums = Checksums.parse(path, metadata.remove(Checksums.KEY));
        if (checksums != null && !checksums.keySet().equals(byName.keySet())) {
            throw new SafeTensorsException(path + ": the checksums in the metadata (" + Checksums.KEY + ") do not list the file's tensors"
                    + " (the header is damaged)");
        }
        return new SafeTensorsFile(path, channel, dataStart, Collections.unmodifiableMap(byName),
                Collections.unmodifiableMap(metadata), checksums);
    }

    private static TensorInfo tensorInfo(Path path, String name, JsonElement value, long dataSize) throws SafeTensorsException {
        String where = path + ": tensor '" + name + "'";
        try {
            JsonObject o = value.getAsJsonObject();
            DType dtype;
            try {
                dtype = DType.valueOf(o.get("dtype").getAsString());
            } catch (IllegalArgumentException e) {
                throw new SafeTensorsException(where + ": unsupported dtype " + o.get("dtype"));
            }
            JsonArray dims = o.getAsJsonArray("shape");
            long[] shape = new long[dims.size()];
            for (int i = 0; i < shape.length; i++) {
                shape[i] = dims.get(i).getAsLong();
                if (shape[i] < 0) throw new SafeTensorsException(where + ": negative dimension in shape " + dims);
            }
            JsonArray offsets = o.getAsJsonArray("data_offsets");
            if (offsets == null || offsets.size() != 2) throw new SafeTensorsException(where + ": data_offsets must be [begin, end]");
            long begin = offsets.get(0).getAsLong(), end = offsets.get(1).getAsLong();
            if (begin < 0 || end < begin || end > dataSize) {
                throw new SafeTensorsException(where + ": data_offsets [" + begin + ", " + end
                        + "] lie outside the data section of " + dataSize + " bytes (truncated file?)");
            }
            TensorInfo info = new TensorInfo(name, dtype, shape, begin, end);
            long expected;
            try {
                expected = Math.multiplyExact(info.elements(), dtype.bytes());
            } catch (ArithmeticException e) {
                throw new SafeTensorsException(where + ": shape " + dims + " is too large");
            }
            if (expected != end - begin) {
                throw new SafeTensorsException(where + ": " + dtype + dims + " needs " + expected + " bytes but data_offsets give "
                        + (end - begin));
            }
            return info;
        } catch (IllegalStateException | NullPointerException | UnsupportedOperationException | NumberFormatException e) {
            throw new SafeTensorsException(where + ": malformed header entry " + value, e);
        }
    }

    @Override
    public Path path() {
        return path;
    }

    @Override
    public String format() {
        return "safetensors";
    }

    /** Tensors by name, sorted by name. */
    public Map<String, TensorInfo> tensors() {
        return tensors;
    }

    /** The metadata, without the checksums. */
    public Map<String, String> metadata() {
        return metadata;
    }

    /** Whether the file carries tensor checksums (files written by Retort do; older ones and other tools' do not). */
    @Override
    public boolean hasChecksums() {
        return checksums != null;
    }

    /**
     * Reads every tensor once and checks it against its checksum; a file without checksums passes (see
     * {@link #hasChecksums}).
     *
     * @throws SafeTensorsException naming the file and the first tensor whose bytes do not match
     */
    @Override
    public void verify() throws IOException {
        if (checksums == null) return;
        for (TensorInfo t : tensors.values()) bytes(t);
    }

    public boolean contains(String name) {
        return tensors.containsKey(name);
    }

    /** The tensor's description; the exception names the file. */
    public TensorInfo info(String name) throws SafeTensorsException {
        TensorInfo t = tensors.get(name);
        if (t == null) throw new SafeTensorsException(path + ": no tensor '" + name + "'");
        return t;
    }

    /** A floating-point tensor converted to float32 values, row-major. */
    public float[] readFloats(String name) throws IOException {
        TensorInfo t = info(name);
        if (!t.dtype().floating()) throw new SafeTensorsException(path + ": tensor '" + name + "' is " + t.dtype() + ", not floating point");
        ByteBuffer b = bytes(t);
        float[] out = new float[Math.toIntExact(t.elements())];
        switch (t.dtype()) {
            case F32 -> b.asFloatBuffer().get(out);
            case F64 -> { for (int i = 0; i < out.length; i++) out[i] = (float) b.getDouble(); }
            case F16 -> { for (int i = 0; i < out.length; i++) out[i] = Half.f16ToFloat(b.getShort()); }
            case BF16 -> { for (int i = 0; i < out.length; i++) out[i] = Half.bf16ToFloat(b.getShort()); }
            default -> throw new IllegalStateException();
        }
        return out;
    }

    /** An integer or boolean tensor widened to long values, row-major. */
    public long[] readLongs(String name) throws IOException {
        TensorInfo t = info(name);
        if (t.dtype().floating()) throw new SafeTensorsException(path + ": tensor '" + name + "' is " + t.dtype() + ", not an integer type");
        ByteBuffer b = bytes(t);
        long[] out = new long[Math.toIntExact(t.elements())];
        for (int i = 0; i < out.length; i++) {
            out[i] = switch (t.dtype()) {
                case I64 -> b.getLong();
                case I32 -> b.getInt();
                case I16 -> b.getShort();
                case I8 -> b.get();
                case U8, BOOL -> b.get() & 0xff;
                default -> throw new IllegalStateException();
            };
        }
        return out;
    }

    /** The tensor as an NDArray of {@code manager}: float32 for floating types, int64 for integer types. */
    public NDArray read(String name, NDManager manager) throws IOException {
        TensorInfo t = info(name);
        Shape shape = new Shape(t.shape());
        NDArray a = t.dtype().floating() ? manager.create(readFloats(name), shape)
                : manager.create(readLongs(name), shape);
        a.setName(name);
        return a;
    }

    private ByteBuffer bytes(TensorInfo t) throws IOException {
        long n = t.end() - t.begin();
        if (n > Integer.MAX_VALUE) throw new SafeTensorsException(path + ": tensor '" + t.name() + "' is larger than 2 GB");
        ByteBuffer b = readFully(channel, dataStart + t.begin(), (int) n, path).order(ByteOrder.LITTLE_ENDIAN);
        if (checksums != null) {
            int expected = checksums.get(t.name()), actual = Checksums.crc32c(b);
            if (expected != actual) {
                throw new SafeTensorsException(String.format("%s: tensor '%s' fails its CRC32C checksum (stored %08x, read %08x): the file is corrupt",
                        path, t.name(), expected, actual));
            }
        }
        return b;
    }

    private static ByteBuffer readFully(FileChannel channel, long position, int length, Path path) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(length);
        while (b.hasRemaining()) {
            int r = channel.read(b, position + b.position());
            if (r < 0) throw new SafeTensorsException(path + ": unexpected end of file at byte " + (position + b.position()));
        }
        return b.flip();
    }

    /** Element type DJL uses for a tensor read by {@link #read}. */
    public static DataType dataType(DType dtype) {
        return dtype.floating() ? DataType.FLOAT32 : DataType.INT64;
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
