package dev.retort.runner.train;

import dev.retort.nn.DeviceSync;
import ai.djl.ndarray.NDArray;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Accumulated wall time per phase of a step ({@code kd:bench}). Once a benchmark times the run, every phase ends with
 * a device synchronisation, so that a GPU's phase times measure work, not enqueueing (nothing happens on the CPU).
 */
public final class Timings {
    private volatile boolean sync;
    private final Map<String, long[]> phases = new LinkedHashMap<>();  // name -> {nanos, count}

    synchronized void add(String phase, long nanos) {
        long[] a = phases.computeIfAbsent(phase, k -> new long[2]);
        a[0] += nanos;
        a[1]++;
    }

    /** From now on, each timed phase waits for the device to finish its work before it is timed. */
    void syncPhases() {
        sync = true;
    }

    /** Adds a phase's time since {@code start}, after the device has done the phase's work when phases are synchronised. */
    void end(String phase, long start, NDArray onDevice) {
        if (sync) DeviceSync.await(onDevice);
        add(phase, System.nanoTime() - start);
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
