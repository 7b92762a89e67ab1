package dev.retort.runner.teachercache;

import java.util.List;
import java.util.Map;

/**
 * The cached taps of one batch: its samples (ids, in batch order) and, per tap, the values as the modules get them
 * (already rounded to the storage precision) with their shape [B, …].
 */
record Entry(List<String> ids, Map<String, float[]> values, Map<String, long[]> shapes) {
    Entry {
        ids = List.copyOf(ids);
        values = Map.copyOf(values);
        shapes = Map.copyOf(shapes);
    }

    long bytes(int bytesPerValue) {
        return values.values().stream().mapToLong(v -> (long) v.length * bytesPerValue).sum();
    }
}
