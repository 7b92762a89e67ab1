package dev.retort.runner.train;

import java.util.LinkedHashMap;
import java.util.Map;

/** Accumulated wall time per phase of a step ({@code kd:bench}). */
public final class Timings {
    private final Map<String, long[]> phases = new LinkedHashMap<>();  // name -> {nanos, count}

    synchronized void add(String phase, long nanos) {
        long[] a = phases.computeIfAbsent(phase, k -> new long[2]);
        a[0] += nanos;
        a[1]++;
    }

    public synchronized void reset() {
        phases.clear();
    }

    /** Mean milliseconds per occurrence, by phase. */
    public synchronized Map<String, Double> meanMillis() {
        Map<String, Double> m = new LinkedHashMap<>();
        phases.forEach((k, a) -> m.put(k, a[1] == 0 ? 0 : a[0] / 1e6 / a[1]));
        return m;
    }
}
