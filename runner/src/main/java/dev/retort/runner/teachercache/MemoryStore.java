package dev.retort.runner.teachercache;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Entries in this JVM: copies of the teacher's own arrays, on the run's device, in their precision and memory layout,
 * so that a batch read from memory gives the modules exactly what the teacher gives (the same values and strides:
 * the losses are those of {@code teacher.cache = off}, bit for bit). One store per key, shared by every run of the
 * process with that key (the arms of {@code kd:ablate} run one after the other in one process); a store outlives its
 * runs so that the next arm finds it, and opening a store releases the stores of other keys that no open run uses.
 */
final class MemoryStore implements TapStore, AutoCloseable {
    /** The taps of one batch and its samples' ids. */
    record Batch(List<String> ids, Map<String, NDArray> taps) {}

    private static final Map<String, MemoryStore> STORES = new HashMap<>();

    private final String key;
    private final Map<String, Batch> entries = new ConcurrentHashMap<>();
    private NDManager manager;  // guarded by this; created with the first entry, on its device
    private long bytes;  // guarded by this
    private int users;  // guarded by STORES
    private volatile long limit;

    private MemoryStore(String key) {
        this.key = key;
    }

    /** The store of {@code key}, used by one more run until {@link #close}. */
    static MemoryStore open(String key, long limit) {
        synchronized (STORES) {
            STORES.values().removeIf(s -> {
                if (s.users > 0 || s.key.equals(key)) return false;
                s.release();
                return true;
            });
            MemoryStore s = STORES.computeIfAbsent(key, MemoryStore::new);
            s.users++;
            s.limit = limit;
            return s;
        }
    }

    /** Forgets every store no run uses (tests start cold). */
    static void clearAll() {
        synchronized (STORES) {
            STORES.values().removeIf(s -> {
                if (s.users > 0) return false;
                s.release();
                return true;
            });
        }
    }

    Batch get(String shard) {
        return entries.get(shard);
    }

    /**
     * Keeps copies of {@code taps} (with the taps the entry already holds) for a batch; false, keeping nothing new, when
     * the limit does not allow it.
     */
    synchronized boolean put(String shard, List<String> ids, Map<String, NDArray> taps) {
        Batch old = entries.get(shard);
        long grow = 0;
        for (Map.Entry<String, NDArray> e : taps.entrySet()) {
            if (old == null || !old.taps().containsKey(e.getKey())) grow += e.getValue().size() * e.getValue().getDataType().getNumOfBytes();
        }
        if (bytes + grow > limit) return false;
        if (manager == null) {
            NDArray any = taps.values().iterator().next();
            manager = any.getManager().getEngine().newBaseManager(any.getDevice());
        }
        Map<String, NDArray> all = new HashMap<>(old == null ? Map.of() : old.taps());
        taps.forEach((name, a) -> all.computeIfAbsent(name, n -> {
            NDArray copy = a.duplicate();  // a clone keeps the strides
            copy.attach(manager);
            return copy;
        }));
        entries.put(shard, new Batch(ids, Map.copyOf(all)));
        bytes += grow;
        return true;
    }

    @Override
    public synchronized long used() {
        return bytes;
    }

    @Override
    public long limit() {
        return limit;
    }

    @Override
    public String where() {
        return "memory (this process)";
    }

    @Override
    public int entries() {
        return entries.size();
    }

    private synchronized void release() {
        entries.clear();
        bytes = 0;
        if (manager != null) manager.close();
        manager = null;
    }

    @Override
    public void close() {
        synchronized (STORES) {
            users--;
        }
    }
}
