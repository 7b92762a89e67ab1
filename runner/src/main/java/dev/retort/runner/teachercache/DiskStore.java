package dev.retort.runner.teachercache;

import dev.retort.safetensors.DType;
import dev.retort.safetensors.SafeTensorsException;
import dev.retort.safetensors.SafeTensorsFile;
import dev.retort.safetensors.SafeTensorsWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * Entries as bf16 safetensors shards, one per batch, in {@code <folder>/<key>/}: {@code e00001-b000003.safetensors}
 * holds the taps of epoch 1's batch 3 as [B, …] tensors, with the key and the batch's sample ids in its metadata.
 * A shard is written to a temporary file beside it and renamed into place atomically, so a reader (another arm,
 * another process) sees a whole shard or none, and two writers of one shard leave one of their two complete files.
 * The limit counts every shard under {@code <folder>}, all keys together, re-counted before it refuses a write.
 * Shards carry each tap's CRC32C (the safetensors writer's checksums); a shard that fails it, or holds a NaN or
 * infinite value, is deleted when read ({@link Damaged}) so that its batch is computed and stored again.
 */
final class DiskStore {
    static final String FORMAT = "Retort teacher cache";
    static final String KEY = "retort.teacher_cache.key", IDS = "retort.teacher_cache.ids";
    private static final String SUFFIX = ".safetensors";
    /** A temporary file this old was left by a writer that died (a shard takes well under a second to write). */
    private static final Duration STALE = Duration.ofHours(1);

    private final Path root;
    private final Path folder;
    private final String key;
    private final long limit;
    private long used;
    private long unverified;

    private DiskStore(Path root, String key, long limit) {
        this.root = root;
        this.folder = root.resolve(key);
        this.key = key;
        this.limit = limit;
    }

    /** Opens (creating it) the folder of {@code key} under {@code root} and writes what the key stands for into its key.txt. */
    static DiskStore open(Path root, String key, String description, long limit) throws IOException {
        DiskStore s = new DiskStore(root, key, limit);
        Files.createDirectories(s.folder);
        Path keyFile = s.folder.resolve("key.txt");
        if (!Files.exists(keyFile)) {
            Path tmp = Files.createTempFile(s.folder, ".key", ".tmp");
            Files.writeString(tmp, description);
            try {
                Files.move(tmp, keyFile, StandardCopyOption.ATOMIC_MOVE);
            } catch (FileAlreadyExistsException | AtomicMoveNotSupportedException e) {
                Files.deleteIfExists(tmp);
            }
        }
        s.removeStaleTemporaries();
        s.used = s.scan();
        return s;
    }

    static String shardName(int epoch, int batch) {
        return String.format("e%05d-b%06d", epoch, batch);
    }

    /**
     * The entry of a batch, with the taps of {@code taps} it holds (null: all it holds); null when it has none.
     *
     * @throws IOException when an entry exists but cannot be read
     */
    Entry read(String shard, Set<String> taps) throws IOException {
        Path f = folder.resolve(shard + SUFFIX);
        if (!Files.isRegularFile(f)) return null;
        try (SafeTensorsFile s = SafeTensorsFile.open(f)) {
            String k = s.metadata().get(KEY);
            if (!key.equals(k)) throw new IOException(f + " belongs to key " + k + ", not to " + key);
            String ids = s.metadata().get(IDS);
            if (ids == null) throw new IOException(f + " does not list its samples (" + IDS + ")");
            if (!s.hasChecksums()) unverified++;
            Map<String, float[]> values = new LinkedHashMap<>();
            Map<String, long[]> shapes = new LinkedHashMap<>();
            for (String name : new TreeMap<>(s.tensors()).keySet()) {
                if (taps != null && !taps.contains(name)) continue;
                float[] v = s.readFloats(name);
                for (float x : v) {
                    if (!Float.isFinite(x)) throw drop(f, "tap " + name + " holds NaN or infinite values");
                }
                values.put(name, v);
                shapes.put(name, s.info(name).shape());
            }
            return new Entry(List.of(ids.split("\n", -1)), values, shapes);
        } catch (NoSuchFileException e) {
            return null;
        } catch (SafeTensorsException e) {
            throw drop(f, e.getMessage());  // its checksum, its header: what it holds cannot be trusted
        }
    }

    /** Deletes a damaged shard, so that the batch is computed and stored again. */
    private Damaged drop(Path f, String why) throws IOException {
        Files.deleteIfExists(f);
        return new Damaged(f + ": " + why.replace(f + ": ", ""));
    }

    /** A shard that was damaged (checksum mismatch, malformed, non-finite values) and has been deleted. */
    static final class Damaged extends IOException {
        Damaged(String message) {
            super(message);
        }
    }

    /** Shards read that carry no checksums (written before Retort checksummed its files). */
    long unverified() {
        return unverified;
    }

    /** Stores (or replaces) a batch's entry; false, storing nothing, when the limit does not allow it. */
    synchronized boolean write(String shard, Entry entry) throws IOException {
        Path f = folder.resolve(shard + SUFFIX);
        long old = Files.isRegularFile(f) ? Files.size(f) : 0;
        long estimate = entry.bytes(2) + 1024;
        if (used + estimate - old > limit) {
            used = scan();  // other writers may have added shards, or someone deleted some
            if (used + estimate - old > limit) return false;
        }
        SafeTensorsWriter w = new SafeTensorsWriter().metadata("format", FORMAT).metadata(KEY, key).metadata(IDS, String.join("\n", entry.ids()));
        for (String tap : new TreeMap<>(entry.values()).keySet()) w.add(tap, entry.shapes().get(tap), entry.values().get(tap), DType.BF16);
        w.write(f);
        used += Files.size(f) - old;
        return true;
    }

    /** Bytes of every shard under the cache folder (all keys). */
    long scan() throws IOException {
        try (Stream<Path> files = Files.walk(root, 2)) {
            return files.filter(p -> p.getFileName().toString().endsWith(SUFFIX)).mapToLong(p -> {
                try {
                    return Files.size(p);
                } catch (NoSuchFileException e) {
                    return 0;  // replaced or deleted meanwhile
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }).sum();
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }

    private void removeStaleTemporaries() throws IOException {
        Instant before = Instant.now().minus(STALE);
        try (Stream<Path> files = Files.list(folder)) {
            for (Path p : files.filter(p -> p.getFileName().toString().startsWith(".") && p.getFileName().toString().endsWith(".tmp")).toList()) {
                try {
                    if (Files.getLastModifiedTime(p).toInstant().isBefore(before)) Files.deleteIfExists(p);
                } catch (NoSuchFileException e) {
                    // renamed into place or removed by its writer meanwhile
                }
            }
        }
    }

    synchronized long used() {
        return used;
    }

    long limit() {
        return limit;
    }

    String where() {
        return folder.toString();
    }

    int entries() {
        try (Stream<Path> files = Files.list(folder)) {
            return (int) files.filter(p -> p.getFileName().toString().endsWith(SUFFIX)).count();
        } catch (IOException e) {
            return -1;
        }
    }

    @Override
    public String toString() {
        return "DiskStore[" + folder + ", " + Arrays.asList(CacheSettings.human(used), CacheSettings.human(limit)) + "]";
    }
}
