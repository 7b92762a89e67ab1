package dev.retort.runner.train;

import dev.retort.nn.DeviceSync;
import dev.retort.nn.HostTransfers;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.retort.nn.ArrayScope;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Accumulated wall time per phase of a step ({@code kd:bench}). Once a benchmark times the run, every phase ends with
 * a device synchronisation, so that a GPU's phase times measure work, not enqueueing (nothing happens on the CPU), and
 * with a count of the bytes the step's arrays hold then ({@link #peakStepBytes()}).
 */
public final class Timings {
    /** Sees the step's manager at each phase end (tests pin what a step holds). */
    @FunctionalInterface
    interface PhaseWatcher {
        void phaseEnd(String phase, NDManager step);
    }

    private volatile boolean sync;
    private final Map<String, long[]> phases = new LinkedHashMap<>();  // name -> {nanos, count}
    private NDManager step;
    private long peakStepBytes = -1;
    private PhaseWatcher watcher;
    /** The host transfers when the timed steps began, at the end of the last one, and how many there were. */
    private HostTransfers.Count transfersFrom = HostTransfers.count(), transfersTo = transfersFrom;
    private long stepsCounted;
    private final Set<String> teacherTaps = new TreeSet<>();

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
        NDManager current = step;
        if (current == null || !current.isOpen()) return;
        // after the phase is timed: counting the arrays is not part of the step
        if (sync) sampleStepBytes(current);
        if (watcher != null) watcher.phaseEnd(phase, current);
    }

    /** The manager of the step now running: its arrays are counted at each phase end of a benchmarked run. */
    void stepBegins(NDManager manager) {
        step = manager;
    }

    void watch(PhaseWatcher w) {
        watcher = w;
    }

    private synchronized void sampleStepBytes(NDManager manager) {
        peakStepBytes = Math.max(peakStepBytes, ArrayScope.bytes(manager));
    }

    /**
     * The most bytes the arrays of a step held through Java handles at the end of any of its phases, since the last
     * {@link #reset()}, in a benchmarked run; -1 when none was sampled. What autograd saved for the backward of arrays
     * whose handles are closed lives in libtorch alone and is not counted.
     */
    public synchronized long peakStepBytes() {
        return peakStepBytes;
    }

    public synchronized void reset() {
        phases.clear();
        peakStepBytes = -1;
        teacherTaps.clear();
        transfersFrom = transfersTo = HostTransfers.count();
        stepsCounted = 0;
    }

    /** A timed step ended (data, forwards, backward, update and the loop's own work for it): its transfers are in. */
    synchronized void stepEnded() {
        transfersTo = HostTransfers.count();
        stepsCounted++;
    }

    /**
     * Host transfers per timed step, counted ({@link HostTransfers}): {@code uploads} (arrays made from Java data),
     * {@code reads} (arrays read into Java) and {@code syncs} (the timers' own waits for a GPU); empty before a step.
     */
    public synchronized Map<String, Double> transfersPerStep() {
        Map<String, Double> m = new LinkedHashMap<>();
        if (stepsCounted == 0) return m;
        HostTransfers.Count d = transfersTo.minus(transfersFrom);
        m.put("uploads", d.uploads() / (double) stepsCounted);
        m.put("reads", d.reads() / (double) stepsCounted);
        m.put("syncs", d.syncs() / (double) stepsCounted);
        return m;
    }

    /** The teacher computed {@code taps} for the step now running. */
    synchronized void teacherComputed(Set<String> taps) {
        teacherTaps.addAll(taps);
    }

    /** The teacher's taps computed since the last {@link #reset()}, sorted. */
    public synchronized Set<String> teacherTaps() {
        return new TreeSet<>(teacherTaps);
    }

    /** Mean milliseconds per occurrence, by phase. */
    public synchronized Map<String, Double> meanMillis() {
        Map<String, Double> m = new LinkedHashMap<>();
        phases.forEach((k, a) -> m.put(k, a[1] == 0 ? 0 : a[0] / 1e6 / a[1]));
        return m;
    }
}
