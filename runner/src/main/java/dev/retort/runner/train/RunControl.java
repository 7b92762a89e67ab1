package dev.retort.runner.train;

import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * What clients ask of a running run (pause, resume, stop, kd:enable/kd:disable, a distiller that changed), from any
 * thread; the training thread reads the requests at its step boundaries, never inside a step.
 */
final class RunControl {
    private final AtomicBoolean paused = new AtomicBoolean();
    private final AtomicBoolean stop = new AtomicBoolean();
    private final AtomicBoolean modulesDirty = new AtomicBoolean(true);
    private final Set<String> disabled = ConcurrentHashMap.newKeySet();
    /** Distiller name → why it changed since the last step boundary (bundle events, configuration, kd:enable/disable). */
    private final Map<String, String> causes = new ConcurrentHashMap<>();

    void pause() {
        paused.set(true);
    }

    void resume() {
        paused.set(false);
        synchronized (this) {
            notifyAll();
        }
    }

    void stop() {
        stop.set(true);
        resume();
    }

    boolean stopRequested() {
        return stop.get();
    }

    boolean paused() {
        return paused.get();
    }

    /** Waits up to 200 ms for a resume or a stop; an interrupt counts as a stop. */
    void awaitResume() {
        synchronized (this) {
            try {
                wait(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                stop.set(true);
            }
        }
    }

    /** The registry changed: the module set is brought in line at the next step boundary. */
    void modulesChanged() {
        modulesDirty.set(true);
    }

    /** Distiller {@code name} changed for {@code cause}: the next boundary acts and logs it. */
    void modulesChanged(String name, String cause) {
        causes.merge(name, cause, (a, b) -> a.equals(b) ? a : a + "; " + b);
        modulesDirty.set(true);
    }

    /** Whether the module set must be reconciled, clearing the request. */
    boolean takeModulesDirty() {
        return modulesDirty.getAndSet(false);
    }

    /** The causes recorded since the last call, by distiller name, cleared. */
    Map<String, String> takeCauses() {
        Map<String, String> why = new TreeMap<>();
        for (String name : Set.copyOf(causes.keySet())) {
            String c = causes.remove(name);
            if (c != null) why.put(name, c);
        }
        return why;
    }

    /** Modules left out by kd:disable (or by a failure the user must acknowledge with kd:enable). */
    Set<String> disabled() {
        return disabled;
    }

    void disable(String module, String cause) {
        disabled.add(module);
        modulesChanged(module, cause);
    }

    void enable(String module, String cause) {
        disabled.remove(module);
        modulesChanged(module, cause);
    }
}
