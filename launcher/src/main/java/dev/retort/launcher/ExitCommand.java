package dev.retort.launcher;

import java.util.Hashtable;

/**
 * The shell's {@code exit [status]}: stops the framework (a running training first stops at its next step boundary
 * and writes its checkpoint) and the launcher leaves with the status. Registered in the {@code gogo} scope, which
 * the shell searches first, so that it is found before the {@code java.lang.System} methods Gogo's default profile
 * adds as commands (whose {@code exit(int)} ended the JVM from the shell's own thread, under the framework's feet,
 * and whose {@code exit()} does not exist).
 */
public final class ExitCommand {
    private final RetortRuntime runtime;
    private volatile int status;

    private ExitCommand(RetortRuntime runtime) {
        this.runtime = runtime;
    }

    static ExitCommand register(RetortRuntime runtime) {
        ExitCommand c = new ExitCommand(runtime);
        Hashtable<String, Object> props = new Hashtable<>();
        props.put("osgi.command.scope", "gogo");
        props.put("osgi.command.function", new String[] {"exit"});
        runtime.context().registerService(Object.class, c, props);
        return c;
    }

    /** Leaves the shell with status 0. */
    public void exit() {
        exit(0);
    }

    /** Leaves the shell with the given status. */
    public void exit(int status) {
        this.status = status;
        if (runtime.stopRuns() > 0) System.out.println("stopping the run at its next step boundary (it writes its checkpoint), then leaving");
        // Not on the shell's own threads: stopping the framework stops the shell, which interrupts them.
        new Thread(runtime::stop, "retort-exit").start();
    }

    int status() {
        return status;
    }
}
