package dev.retort.runner.teachercache;

import dev.retort.api.error.RetortConfigException;
import dev.retort.nn.ByteSizes;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A run's teacher-cache keys, checked:
 *
 * <pre>
 * teacher.cache = off | memory | disk     (off)
 * teacher.cache_dir = DIR                 (disk: default &lt;output&gt;/teacher-cache; kd:ablate: &lt;study&gt;/teacher-cache)
 * teacher.cache_limit = 4g                (disk: 4g of shards in DIR; memory: 2g of arrays, on the run's device)
 * </pre>
 *
 * @param mode   where entries are kept
 * @param folder the disk cache's folder (entries go to a sub-folder per key); null unless {@code disk}
 * @param limit  bytes the cache may hold (disk: every shard in {@code folder}; memory: the values held)
 * @param unused keys that were set but that this mode does not read (reported when the run starts), or empty
 */
public record CacheSettings(Mode mode, Path folder, long limit, List<String> unused) {
    /** Where the cache keeps its entries. */
    public enum Mode {
        OFF, MEMORY, DISK
    }

    public static final String MODE = "teacher.cache", FOLDER = "teacher.cache_dir", LIMIT = "teacher.cache_limit";
    /** The keys of the {@code teacher.} section that are the cache's, not the backbone's. */
    public static final List<String> TEACHER_KEYS = List.of("cache", "cache_dir", "cache_limit");
    /** The default folder name under a run's (or a study's) output. */
    public static final String FOLDER_NAME = "teacher-cache";
    public static final long DEFAULT_DISK_LIMIT = 4L << 30, DEFAULT_MEMORY_LIMIT = 2L << 30;

    /** Reads and checks the keys of a run's settings; {@code output} is the run's folder (for the default folder). */
    public static CacheSettings of(Map<String, ?> raw, Path output) {
        String m = str(raw, MODE, "off").toLowerCase(Locale.ROOT);
        Mode mode = switch (m) {
            case "off" -> Mode.OFF;
            case "memory" -> Mode.MEMORY;
            case "disk" -> Mode.DISK;
            default -> throw new RetortConfigException("run: " + MODE + " must be off, memory or disk, got '" + str(raw, MODE, "") + "'");
        };
        String dir = str(raw, FOLDER, "");
        if (raw.containsKey(FOLDER) && dir.isEmpty()) throw new RetortConfigException("run: " + FOLDER + " is empty; name a folder or leave the key out");
        String limitText = str(raw, LIMIT, "");
        // memory: the arrays live in native (or device) memory, not in the Java heap
        long limit = mode == Mode.MEMORY ? DEFAULT_MEMORY_LIMIT : DEFAULT_DISK_LIMIT;
        if (raw.containsKey(LIMIT)) limit = size(limitText);
        List<String> unused = switch (mode) {
            case OFF -> List.of(FOLDER, LIMIT).stream().filter(raw::containsKey).toList();
            case MEMORY -> raw.containsKey(FOLDER) ? List.of(FOLDER) : List.of();
            case DISK -> List.of();
        };
        Path folder = mode != Mode.DISK ? null : dir.isEmpty() ? output.resolve(FOLDER_NAME) : Path.of(dir).toAbsolutePath();
        return new CacheSettings(mode, folder, limit, unused);
    }

    /** A size in bytes > 0: {@code 1073741824}, {@code 500m}, {@code 4g}, {@code 1.5G}, {@code 2GiB} (multiples of 1024). */
    static long size(String text) {
        long bytes = ByteSizes.parse(text).orElse(0);
        if (bytes < 1) throw new RetortConfigException("run: " + LIMIT + " must be a size > 0 such as 500m, 4g or 1073741824 (bytes), got '" + text + "'");
        return bytes;
    }

    /** A size for people: {@code 3.2 MB}. */
    static String human(long bytes) {
        return ByteSizes.human(bytes);
    }

    private static String str(Map<String, ?> raw, String key, String fallback) {
        Object v = raw.get(key);
        return v == null ? fallback : v.toString().strip();
    }
}
