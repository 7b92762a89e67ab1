package dev.retort.runner.teachercache;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Entries in this JVM, in float32 (exactly the teacher's values), one store per key shared by every run of the process
 * with that key (the arms of {@code kd:ablate} run one after the other in one process). A store outlives its runs so
 * that the next arm finds it; opening a store releases the stores of other keys that no open run uses.
 */
final class MemoryStore implements Store {
    private static final Map<String, MemoryStore> STORES = new HashMap<>();

    private final String key;
    private final Map<String, Entry> entries = new ConcurrentHashMap<>();
    private long bytes;  // guarded by this
    private int users;  // guarded by STORES
    private long limit;

    private MemoryStore(String key) {
        this.key = key;
    }

    /** The store of {@code key}, used by one more run until {@link #close}. */
    static MemoryStore open(String key, long limit) {
        synchronized (STORES) {
            STORES.values().removeIf(s -> s.users == 0 && !s.key.equals(key));
            MemoryStore s = STORES.computeIfAbsent(key, MemoryStore::new);
            s.users++;
            s.limit = limit;
            return s;
        }
    }

    /** Forgets every store (tests start cold). */
    static void clearAll() {
        synchronized (STORES) {
            STORES.clear();
        }
    }

    @Override
    public Entry read(String shard, Set<String> taps) {
        return entries.get(shard);
    }

    @Override
    public synchronized boolean write(String shard, Entry entry) {
        Entry old = entries.get(shard);
        long grow = entry.bytes(Float.BYTES) - (old == null ? 0 : old.bytes(Float.BYTES));
        if (bytes + grow > limit) return false;
        entries.put(shard, entry);
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

    @Override
    public void close() {
        synchronized (STORES) {
            users--;
        }
    }
}
