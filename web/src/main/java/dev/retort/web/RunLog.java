package dev.retort.web;

import dev.retort.api.run.RunEvent;
import dev.retort.api.run.RunListener;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The events of the current run, numbered, for the page and the JSON endpoints. A listener service: the runner
 * calls it on a thread of its own, so keeping events here never slows training. A new run id starts a new log; the
 * numbers go on increasing, so a client that resumes with the last number it saw never misses or repeats an event.
 */
final class RunLog implements RunListener {
    /** An event and its number. */
    record Entry(long seq, RunEvent event) {}

    /** A long run logging every step stays bounded; the oldest events go first. */
    static final int CAPACITY = 200_000;

    private final List<Entry> entries = new ArrayList<>();
    /** Parameters of each module that has been active in this run, from its module changes (params.<module>). */
    private final Map<String, Long> moduleParams = new LinkedHashMap<>();
    private String runId;
    private long nextSeq = 1;

    @Override
    public synchronized void onEvent(RunEvent event) {
        if (!event.runId().equals(runId)) {
            runId = event.runId();
            entries.clear();
            moduleParams.clear();
        }
        if (event.type() == RunEvent.Type.MODULES_CHANGED) {
            event.metrics().forEach((k, v) -> {
                if (k.startsWith("params.")) moduleParams.put(k.substring("params.".length()), v.longValue());
            });
        }
        if (entries.size() >= CAPACITY) entries.subList(0, CAPACITY / 10).clear();
        entries.add(new Entry(nextSeq++, event));
        notifyAll();  // wakes the event streams waiting in await()
    }

    synchronized String runId() {
        return runId;
    }

    synchronized Map<String, Long> moduleParams() {
        return new LinkedHashMap<>(moduleParams);
    }

    /** The events numbered above {@code seq}, in order. */
    synchronized List<Entry> after(long seq) {
        int from = firstAbove(seq);
        return new ArrayList<>(entries.subList(from, entries.size()));
    }

    /** The events at steps above {@code step}, in order. */
    synchronized List<Entry> sinceStep(long step) {
        return entries.stream().filter(e -> e.event().step() > step).toList();
    }

    /** Waits up to {@code millis} for an event numbered above {@code seq}; returns them (empty on time-out). */
    synchronized List<Entry> await(long seq, long millis) throws InterruptedException {
        long deadline = System.currentTimeMillis() + millis;
        while (firstAbove(seq) == entries.size()) {
            long left = deadline - System.currentTimeMillis();
            if (left <= 0) return List.of();
            wait(left);
        }
        return after(seq);
    }

    /** Wakes every waiting stream, e.g. when the view stops. */
    synchronized void wakeAll() {
        notifyAll();
    }

    private int firstAbove(long seq) {
        // numbers are ascending: binary search for the first above seq
        int lo = 0, hi = entries.size();
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (entries.get(mid).seq() <= seq) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }
}
