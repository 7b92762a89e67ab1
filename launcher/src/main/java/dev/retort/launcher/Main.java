package dev.retort.launcher;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * {@code java -jar retort.jar} opens the Gogo shell; {@code java -jar retort.jar <command line>} runs one Gogo
 * command line, prints its result and exits 0 on success, 1 when the command fails (an exception, an unknown
 * command) and 2 when the runtime cannot start.
 *
 * <p>Settings (system properties): {@code retort.bundles} (drop-in folder, default {@code bundles}),
 * {@code retort.conf} (configuration folder, default {@code conf}), {@code DJL_CACHE_DIR} (where libtorch is
 * unpacked, default {@code retort-cache/djl} beside the jar), {@code retort.debug} (stack traces).
 */
public final class Main {
    static final int OK = 0;
    static final int COMMAND_FAILED = 1;
    static final int CANNOT_START = 2;

    private Main() {}

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    static int run(String[] args, PrintStream out, PrintStream err) {
        if (args.length == 1 && (args[0].equals("-h") || args[0].equals("--help"))) {
            out.print(usage());
            return OK;
        }
        boolean commandMode = args.length > 0;
        RetortRuntime runtime;
        try {
            runtime = RetortRuntime.start(settings(), commandMode);
        } catch (Exception e) {
            err.println("retort: cannot start the runtime: " + CommandRunner.describe(e));
            if (Boolean.getBoolean("retort.debug")) e.printStackTrace(err);
            return CANNOT_START;
        }
        try {
            runtime.awaitDropIns(Duration.ofSeconds(30));
            ConfPids.reportUnknown(runtime.context(), settings().conf(), err);
            if (!commandMode) {
                // So that a first 'kd:' command typed (or piped) at once finds Retort's commands registered.
                CommandRunner.awaitCommand(runtime.context(), "kd:info", Duration.ofSeconds(30));
                runtime.startShell();
                runtime.awaitStop();
                return OK;
            }
            runtime.startShell();
            return new CommandRunner(runtime.context(), out, err).run(CommandLine.join(args), Duration.ofSeconds(30));
        } finally {
            runtime.stop();
        }
    }

    static RetortRuntime.Settings settings() {
        Path bundles = Path.of(System.getProperty("retort.bundles", "bundles")).toAbsolutePath();
        Path conf = Path.of(System.getProperty("retort.conf", "conf")).toAbsolutePath();
        return new RetortRuntime.Settings(bundles, conf, defaultCacheDir());
    }

    /** {@code retort-cache/djl} beside the jar when that folder is writable, else in the working directory. */
    static Path defaultCacheDir() {
        Path jarDir = RetortRuntime.codeLocation().getParent();
        if (jarDir != null && Files.isWritable(jarDir)) return jarDir.resolve("retort-cache").resolve("djl");
        return Path.of(".retort-cache", "djl").toAbsolutePath();
    }

    static String usage() {
        return String.join(System.lineSeparator(),
                "usage: java -jar retort.jar                   open the Gogo shell (type 'help', or 'kd:info')",
                "       java -jar retort.jar <command> [args]  run one command and exit (0 = success)",
                "       java -jar retort.jar '<gogo line>'     one argument is taken as a whole Gogo command line",
                "",
                "system properties: -Dretort.bundles=DIR (drop-in bundles, default ./bundles)",
                "                   -Dretort.conf=DIR    (ConfigAdmin .cfg/.config files, default ./conf)",
                "                   -DDJL_CACHE_DIR=DIR  (where libtorch is unpacked; default retort-cache/ beside the jar)",
                "                   -Dretort.debug=true  (stack traces)",
                "");
    }
}
