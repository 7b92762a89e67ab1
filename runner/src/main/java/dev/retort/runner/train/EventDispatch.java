package dev.retort.runner.train;

import dev.retort.api.error.Failures;
import dev.retort.api.run.RunEvent;
import dev.retort.api.run.RunListener;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Delivers events to one listener in order on a thread of the listener's own, so that a slow or stuck listener
 * delays only itself, never the training thread. The queue is unbounded: a run publishes a few events per
 * {@code log_every} steps, so what a slow listener holds back is small, and dropping events would lose results.
 */
final class EventDispatch implements AutoCloseable {
    private static final AtomicLong THREADS = new AtomicLong();
    private final RunListener listener;
    private final ExecutorService thread;

    EventDispatch(RunListener listener) {
        this.listener = listener;
        this.thread = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "retort-events-" + THREADS.incrementAndGet());
            t.setDaemon(true);  // never keeps the JVM alive
            return t;
        });
    }

    void deliver(RunEvent event) {
        run(() -> {
            try {
                listener.onEvent(event);
            } catch (RuntimeException e) {
                System.err.println("retort: run listener " + listener + " failed on " + event.type() + ": " + Failures.describe(e));
            }
        });
    }

    /** Runs {@code task} after every event queued so far has been delivered. */
    void after(Runnable task) {
        run(task);
    }

    private void run(Runnable task) {
        try {
            thread.execute(task);
        } catch (RejectedExecutionException e) {
            // the listener went away: nothing to deliver to
        }
    }

    /** Delivers what is queued, then ends the thread. */
    @Override
    public void close() {
        thread.shutdown();
    }
}
