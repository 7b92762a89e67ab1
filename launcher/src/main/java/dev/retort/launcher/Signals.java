package dev.retort.launcher;

import java.io.PrintStream;
import java.util.concurrent.atomic.AtomicInteger;
import sun.misc.Signal;

/**
 * SIGTERM (what a cluster scheduler sends at a time limit or pre-emption), SIGINT (Ctrl-C) and SIGHUP (the terminal or
 * the SSH session closed): the first asks every running training to stop at its next step boundary and write
 * {@code last.safetensors}, then stops the framework (which waits for the training thread to close its files) and
 * exits with 128 + the signal number (143, 130, 129). A second signal exits at once with {@link #ABORTED}; the run
 * folder then holds its previous checkpoint. (To keep a run going after logging out, start it under {@code nohup},
 * {@code setsid}, {@code tmux} or a scheduler: a SIGHUP ignored by the parent stays ignored.)
 *
 * <p>The JVM's own handling would run the shutdown hooks while the training thread is still inside a native
 * backward pass, and exit under it.
 */
final class Signals {
    /** Exit status after a second signal: aborted without a new checkpoint. */
    static final int ABORTED = 3;

    private final AtomicInteger received = new AtomicInteger();
    private final RetortRuntime runtime;
    private final PrintStream err;

    private Signals(RetortRuntime runtime, PrintStream err) {
        this.runtime = runtime;
        this.err = err;
    }

    static Signals install(RetortRuntime runtime, PrintStream err) {
        Signals s = new Signals(runtime, err);
        for (String name : new String[] {"TERM", "INT", "HUP"}) {
            try {
                Signal.handle(new Signal(name), s::handle);
            } catch (IllegalArgumentException e) {
                // ignored by the parent (nohup, background jobs) or reserved (-Xrs): the JVM's default stays
            }
        }
        return s;
    }

    /** The exit status a signal asks for, or -1 when none came. */
    int status() {
        int n = received.get();
        return n == 0 ? -1 : 128 + n;
    }

    private void handle(Signal signal) {
        if (!received.compareAndSet(0, signal.getNumber())) {
            err.println("retort: SIG" + signal.getName() + " again: aborting now, without a checkpoint of the steps since the last one");
            err.flush();
            Runtime.getRuntime().halt(ABORTED);
        }
        err.println("retort: SIG" + signal.getName() + (signal.getName().equals("HUP") ? " (the terminal or session closed)" : "")
                + ": stopping the run at its next step boundary and writing its checkpoint (send it again to abort at once)");
        err.flush();
        int stopped = runtime.stopRuns();
        runtime.stop();
        if (stopped > 0) err.println("retort: run stopped and checkpointed; exit status " + status());
        System.out.flush();
        err.flush();
        System.exit(status());
    }
}
