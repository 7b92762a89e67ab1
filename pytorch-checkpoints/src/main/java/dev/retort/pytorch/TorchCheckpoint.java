package dev.retort.pytorch;

import dev.retort.safetensors.DType;
import dev.retort.safetensors.TensorInfo;
import dev.retort.safetensors.TensorSource;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A PyTorch checkpoint ({@code torch.save}): the zip format of PyTorch 1.6 and later (any archive folder name, its
 * {@code byteorder} record honoured) and the legacy format before it. The pickle is read by {@link Unpickler} (allowlist,
 * nothing run); every storage it refers to must exist in the file with at least the bytes it declares, and every tensor's
 * view (offset, sizes, strides) must lie inside its storage, all checked when the file is opened. Tensor data is read
 * on demand through memory mapping, so the heap holds only the values asked for.
 */
public final class TorchCheckpoint implements TensorSource {
    /** Largest pickle read into memory (state dicts of the largest published models take a few MB). */
    public static final long MAX_PICKLE_BYTES = 64L << 20;
    /** The legacy format's magic number, the first pickle of such a file. */
    static final BigInteger LEGACY_MAGIC = new BigInteger("1950a86a20f9469cfc6c", 16);
    private static final long LEGACY_PROTOCOL = 1001;

    private final Path path;
    private final FileChannel channel;
    private final String format;
    private final ByteOrder order;
    private final Map<String, Long> storageOffsets;  // storage key -> file offset of its first byte
    private final CheckpointContents contents;
    private final Map<String, TensorInfo> infos;
    private final Map<String, String> metadata;

    private TorchCheckpoint(Path path, FileChannel channel, String format, ByteOrder order, Map<String, Long> storageOffsets,
                            Object top, CheckpointContents contents) throws CheckpointException {
        this.path = path;
        this.channel = channel;
        this.format = format;
        this.order = order;
        this.storageOffsets = storageOffsets;
        this.contents = contents;
        Map<String, TensorInfo> m = new LinkedHashMap<>();
        for (Map.Entry<String, TensorRef> e : contents.tensors().entrySet()) m.put(e.getKey(), check(e.getKey(), e.getValue()));
        this.infos = Collections.unmodifiableMap(m);
        this.metadata = Collections.unmodifiableMap(contents.metadata(top));
    }

    /** True when the file starts as a legacy-format checkpoint does (a protocol 2 pickle of the magic number). */
    public static boolean isLegacy(byte[] head) {
        return head.length >= 4 && (head[0] & 0xff) == 0x80 && head[1] == 2 && (head[2] & 0xff) == 0x8a && head[3] == 10;
    }

    /** True when the file starts as a zip archive. */
    public static boolean isZip(byte[] head) {
        return head.length >= 4 && head[0] == 'P' && head[1] == 'K' && head[2] == 3 && head[3] == 4;
    }

    /** Opens and checks a checkpoint in either format. */
    public static TorchCheckpoint open(Path path) throws IOException {
        FileChannel channel;
        try {
            channel = FileChannel.open(path, StandardOpenOption.READ);
        } catch (NoSuchFileException e) {
            throw new CheckpointException(path + ": no such file");
        }
        try {
            byte[] head = new byte[4];
            ByteBuffer b = ByteBuffer.wrap(head);
            while (b.hasRemaining() && channel.read(b, b.position()) > 0) { }
            if (isZip(head)) return openZip(path, channel);
            if (isLegacy(head)) return openLegacy(path, channel);
            throw new CheckpointException(path + ": not a PyTorch checkpoint (neither a zip archive nor a legacy-format pickle)");
        } catch (IOException | RuntimeException e) {
            channel.close();
            if (e instanceof CheckpointException || !(e instanceof RuntimeException)) throw e;
            throw new CheckpointException(path + ": unreadable checkpoint (" + e + ")", e);
        }
    }

    // ---- zip format -------------------------------------------------------------------------------------------

    private static TorchCheckpoint openZip(Path path, FileChannel channel) throws IOException {
        ZipDirectory zip = ZipDirectory.read(path, channel);
        if (zip.entries().isEmpty()) throw new CheckpointException(path + ": an empty zip archive");
        String first = zip.entries().keySet().iterator().next();
        int slash = first.indexOf('/');
        if (slash <= 0) throw new CheckpointException(path + ": zip entry '" + first + "' is not inside an archive folder: not a torch.save file");
        String prefix = first.substring(0, slash + 1);
        ZipDirectory.Entry pkl = zip.entries().get(prefix + "data.pkl");
        if (pkl == null) throw new CheckpointException(path + ": no " + prefix + "data.pkl in the archive: not a torch.save file");
        ByteOrder order = ByteOrder.LITTLE_ENDIAN;
        ZipDirectory.Entry bo = zip.entries().get(prefix + "byteorder");
        if (bo != null) {
            String text = new String(zip.bytes(bo, 16), java.nio.charset.StandardCharsets.US_ASCII).strip();
            order = switch (text) {
                case "little" -> ByteOrder.LITTLE_ENDIAN;
                case "big" -> ByteOrder.BIG_ENDIAN;
                default -> throw new CheckpointException(path + ": byteorder record says '" + text + "' (expected little or big)");
            };
        }
        String where = path + ": " + pkl.name();
        Map<String, StorageRef> storages = new LinkedHashMap<>();
        Unpickler u = new Unpickler(ByteBuffer.wrap(zip.bytes(pkl, MAX_PICKLE_BYTES)), 0, where, pid -> storage(pid, 5, storages, where));
        Object top = u.load();
        Map<String, Long> offsets = new HashMap<>();
        for (StorageRef s : storages.values()) {
            ZipDirectory.Entry e = zip.entries().get(prefix + "data/" + s.key());
            if (e == null) throw new CheckpointException(path + ": storage '" + s.key() + "' has no record " + prefix + "data/" + s.key() + " in the archive");
            if (!e.stored()) throw new CheckpointException(path + ": storage record " + e.name() + " is compressed; torch.save stores them uncompressed (re-zipped file?)");
            if (e.size() < bytes(s, path)) {
                throw new CheckpointException(path + ": storage '" + s.key() + "' declares " + s.elements() + " " + s.type().pythonName() + " elements ("
                        + bytes(s, path) + " bytes) but its record holds " + e.size() + " bytes");
            }
            offsets.put(s.key(), e.dataOffset());
        }
        String format = "PyTorch zip checkpoint (archive folder '" + prefix.substring(0, prefix.length() - 1) + "', "
                + (order == ByteOrder.LITTLE_ENDIAN ? "little" : "big") + "-endian)";
        return new TorchCheckpoint(path, channel, format, order, offsets, top, CheckpointContents.of(top, where));
    }

    // ---- legacy format -------------------------------------------------------------------------------------------

    private static TorchCheckpoint openLegacy(Path path, FileChannel channel) throws IOException {
        long size = channel.size();
        // The pickles come first; map at most what one buffer can address (their length is not known in advance).
        ByteBuffer file = channel.map(FileChannel.MapMode.READ_ONLY, 0, Math.min(size, Integer.MAX_VALUE));
        String where = path + ": legacy header";
        Unpickler magic = new Unpickler(file, 0, where, null);
        if (!LEGACY_MAGIC.equals(toBig(magic.load()))) throw new CheckpointException(path + ": not a legacy PyTorch checkpoint (wrong magic number)");
        Unpickler protocol = new Unpickler(file, magic.position(), where, null);
        Object version = protocol.load();
        if (!Long.valueOf(LEGACY_PROTOCOL).equals(version)) {
            throw new CheckpointException(path + ": legacy checkpoint of protocol version " + version + " (only " + LEGACY_PROTOCOL + " is read)");
        }
        Unpickler sysInfo = new Unpickler(file, protocol.position(), where, null);
        Object info = sysInfo.load();
        ByteOrder order = ByteOrder.LITTLE_ENDIAN;
        if (info instanceof Map<?, ?> m && Boolean.FALSE.equals(m.get("little_endian"))) order = ByteOrder.BIG_ENDIAN;
        else if (!(info instanceof Map<?, ?>)) throw new CheckpointException(path + ": legacy checkpoint without its sys_info dict (corrupted)");
        String objectWhere = path + ": legacy pickle";
        Map<String, StorageRef> storages = new LinkedHashMap<>();
        Unpickler object = new Unpickler(file, sysInfo.position(), objectWhere, pid -> storage(pid, 6, storages, objectWhere));
        Object top = object.load();
        Unpickler keys = new Unpickler(file, object.position(), path + ": legacy storage list", null);
        Object keyList = keys.load();
        if (!(keyList instanceof List<?> list)) throw new CheckpointException(path + ": legacy checkpoint without its storage key list (corrupted)");
        long p = keys.position();
        Map<String, Long> offsets = new HashMap<>();
        for (Object k : list) {
            StorageRef s = k instanceof String key ? storages.get(key) : null;
            if (s == null) throw new CheckpointException(path + ": storage '" + k + "' is listed but no tensor uses it (corrupted file)");
            if (offsets.containsKey(s.key())) throw new CheckpointException(path + ": storage '" + s.key() + "' is listed twice (corrupted file)");
            if (p > size - 8) throw new CheckpointException(path + ": storage '" + s.key() + "' lies past the end of the file (truncated?)");
            long count = ZipDirectory.read(channel, p, 8, path).order(order).getLong(0);
            if (count != s.elements()) {
                throw new CheckpointException(path + ": storage '" + s.key() + "' holds " + count + " elements where the pickle declares " + s.elements()
                        + " (corrupted file)");
            }
            long bytes = bytes(s, path);
            if (bytes > size - p - 8) {
                throw new CheckpointException(path + ": storage '" + s.key() + "' (" + bytes + " bytes at " + (p + 8) + ") runs past the end of the "
                        + size + "-byte file (truncated?)");
            }
            offsets.put(s.key(), p + 8);
            p += 8 + bytes;
        }
        for (String key : storages.keySet()) {
            if (!offsets.containsKey(key)) throw new CheckpointException(path + ": storage '" + key + "' is used but not in the file's storage list (corrupted file)");
        }
        return new TorchCheckpoint(path, channel, "PyTorch legacy checkpoint (torch < 1.6 format, " + (order == ByteOrder.LITTLE_ENDIAN ? "little" : "big")
                + "-endian)", order, offsets, top, CheckpointContents.of(top, objectWhere));
    }

    private static BigInteger toBig(Object o) {
        if (o instanceof BigInteger b) return b;
        if (o instanceof Long l) return BigInteger.valueOf(l);
        return null;
    }

    // ---- storages and views ------------------------------------------------------------------------------------------

    /** A persistent id: ('storage', type, key, location, numel[, view_metadata]); one StorageRef per key. */
    private static StorageRef storage(PyTuple pid, int arity, Map<String, StorageRef> storages, String where) throws CheckpointException {
        if (pid.size() != arity || !"storage".equals(pid.get(0))) {
            throw new CheckpointException(where + ": a persistent id that is not ('storage', type, key, location, size"
                    + (arity == 6 ? ", view" : "") + "): refused");
        }
        if (!(pid.get(1) instanceof StorageType type)) {
            throw new CheckpointException(where + ": a storage of type " + Unpickler.describe(pid.get(1)) + ", not one of "
                    + Arrays.stream(StorageType.values()).map(StorageType::pythonName).toList());
        }
        if (!(pid.get(2) instanceof String key) || !key.matches("[A-Za-z0-9_]{1,64}")) throw new CheckpointException(where + ": a storage key that is not a short name");
        String location = pid.get(3) instanceof String l ? l : "?";
        if (!(pid.get(4) instanceof Long n) || n < 0) throw new CheckpointException(where + ": storage '" + key + "' with a size that is not a count");
        if (arity == 6 && pid.get(5) != null) {
            throw new CheckpointException(where + ": storage '" + key + "' is a storage view (PyTorch < 0.4), which is not read");
        }
        StorageRef s = new StorageRef(key, type, location, n);
        StorageRef earlier = storages.putIfAbsent(key, s);
        if (earlier != null && !earlier.equals(s)) {
            throw new CheckpointException(where + ": storage '" + key + "' is named as " + earlier.type().pythonName() + " of " + earlier.elements()
                    + " and as " + type.pythonName() + " of " + n);
        }
        return earlier != null ? earlier : s;
    }

    private static long bytes(StorageRef s, Path path) throws CheckpointException {
        try {
            return Math.multiplyExact(s.elements(), (long) s.type().dtype().bytes());
        } catch (ArithmeticException e) {
            throw new CheckpointException(path + ": storage '" + s.key() + "' declares an impossible size " + s.elements());
        }
    }

    /** Checks a tensor's view against its storage; the TensorInfo's begin/end are the file bytes its elements span. */
    private TensorInfo check(String name, TensorRef t) throws CheckpointException {
        String what = path + ": tensor '" + name + "'";
        long[] size = t.size(), stride = t.stride();
        for (int i = 0; i < size.length; i++) {
            if (size[i] < 0 || stride[i] < 0) {
                throw new CheckpointException(what + ": size " + Arrays.toString(size) + " / stride " + Arrays.toString(stride) + " has a negative entry");
            }
        }
        if (t.offset() < 0) throw new CheckpointException(what + ": negative storage offset " + t.offset());
        long elements, last;
        try {
            elements = t.elements();
            last = t.lastIndex();
        } catch (ArithmeticException e) {
            throw new CheckpointException(what + ": size " + Arrays.toString(size) + " / stride " + Arrays.toString(stride) + " overflows");
        }
        StorageRef s = t.storage();
        if (elements > 0 && last >= s.elements()) {
            throw new CheckpointException(what + ": its view (offset " + t.offset() + ", size " + Arrays.toString(size) + ", stride "
                    + Arrays.toString(stride) + ") reaches element " + last + " of storage '" + s.key() + "', which holds " + s.elements());
        }
        if (elements == 0 && t.offset() > s.elements()) throw new CheckpointException(what + ": storage offset " + t.offset() + " lies past its storage");
        int esize = s.type().dtype().bytes();
        long begin = storageOffsets.get(s.key()) + t.offset() * esize;
        return new TensorInfo(name, s.type().dtype(), size, begin, begin + (last - t.offset() + 1) * esize);
    }

    // ---- TensorSource ------------------------------------------------------------------------------------------------

    @Override
    public Path path() {
        return path;
    }

    @Override
    public String format() {
        return format;
    }

    @Override
    public Map<String, TensorInfo> tensors() {
        return infos;
    }

    /** Top-level entries besides the state dict (epoch, arch, best_acc, …), as text; empty for a flat state dict. */
    @Override
    public Map<String, String> metadata() {
        return metadata;
    }

    /** Each top-level entry and what it holds (for a description of the file). */
    public Map<String, String> topLevel() {
        return contents.topLevel();
    }

    /** The top-level entry the tensors came from ({@code state_dict}, {@code model}), or null for a flat state dict. */
    public String stateDictKey() {
        return contents.stateDictKey();
    }

    /** Values inside the state dict that are not tensors (passed over). */
    public int skippedValues() {
        return contents.skipped();
    }

    @Override
    public TensorInfo info(String name) throws CheckpointException {
        TensorInfo t = infos.get(name);
        if (t == null) throw new CheckpointException(path + ": no tensor '" + name + "'");
        return t;
    }

    @Override
    public float[] readFloats(String name) throws IOException {
        TensorInfo info = info(name);
        if (!info.dtype().floating()) throw new CheckpointException(path + ": tensor '" + name + "' is " + info.dtype() + ", not floating point");
        TensorRef t = contents.tensors().get(name);
        float[] out = new float[count(name, t)];
        if (out.length == 0) return out;
        DType dt = info.dtype();
        if (t.contiguous()) {
            int done = 0;
            long chunk = (Integer.MAX_VALUE / 8) & ~7L;  // elements per mapping, a multiple of 8 so that every dtype divides it
            while (done < out.length) {
                int n = (int) Math.min(chunk, out.length - done);
                ByteBuffer b = map(info.begin() + (long) done * dt.bytes(), (long) n * dt.bytes(), name);
                StridedCopy.contiguousFloats(b, dt, out, done, n);
                done += n;
            }
        } else {
            ByteBuffer b = map(info.begin(), info.end() - info.begin(), name);
            StridedCopy.stridedFloats(b, dt, t.size(), t.stride(), out);
        }
        return out;
    }

    @Override
    public long[] readLongs(String name) throws IOException {
        TensorInfo info = info(name);
        if (info.dtype().floating()) throw new CheckpointException(path + ": tensor '" + name + "' is " + info.dtype() + ", not an integer type");
        TensorRef t = contents.tensors().get(name);
        long[] out = new long[count(name, t)];
        if (out.length == 0) return out;
        ByteBuffer b = map(info.begin(), info.end() - info.begin(), name);
        StridedCopy.stridedLongs(b, info.dtype(), t.size(), t.stride(), out);
        return out;
    }

    private int count(String name, TensorRef t) throws CheckpointException {
        long n = t.elements();
        if (n > Integer.MAX_VALUE - 8) throw new CheckpointException(path + ": tensor '" + name + "' has " + n + " elements, more than one Java array holds");
        return (int) n;
    }

    private ByteBuffer map(long position, long length, String name) throws IOException {
        if (length > Integer.MAX_VALUE) {
            throw new CheckpointException(path + ": tensor '" + name + "' is a non-contiguous view spanning " + length + " bytes (at most 2 GB are read at once)");
        }
        return channel.map(FileChannel.MapMode.READ_ONLY, position, length).order(order);
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }

    /** Names of the storages' types PyTorch uses, e.g. for documentation. */
    public static List<String> storageTypes() {
        return Arrays.stream(StorageType.values()).map(StorageType::pythonName).toList();
    }
}
