package dev.retort.launcher;

import dev.retort.runtime.Libtorch;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * {@code java -jar retort.jar} opens the Gogo shell; {@code java -jar retort.jar <command line>} runs one Gogo
 * command line, prints its result and exits 0 on success, 1 when the command fails (an exception, an unknown
 * command), 2 when the runtime cannot start, 143 / 130 when SIGTERM / SIGINT stopped it (a running training
 * stopped at a step boundary and wrote its checkpoint) and 3 when a second signal aborted it.
 *
 * <p>Settings (system properties): {@code retort.bundles} (drop-in folder, default {@code bundles}),
 * {@code retort.conf} (configuration folder, default {@code conf}), {@code retort.cache} (the user's cache folder,
 * default {@code $XDG_CACHE_HOME/retort} or {@code ~/.cache/retort}), {@code DJL_CACHE_DIR} (where libtorch is
 * unpacked, default {@code djl} in that cache), {@code retort.libtorch} and {@code retort.libtorch.flavor} (native
 * libraries from a folder instead of the jar: the CUDA route), {@code retort.debug} (stack traces).
 */
public final class Main {
    static final int OK = 0;
    static final int COMMAND_FAILED = 1;
    static final int CANNOT_START = 2;

    /** This process's command line, one word a line, for programs that start Retort again (kd:ablate --slurm). */
    static final String COMMAND_PROPERTY = "retort.command";

    private static volatile Signals signals;

    private Main() {}

    public static void main(String[] args) {
        int status = run(args, System.out, System.err);
        Signals s = signals;
        // stopped by a signal: the command's own outcome (a stopped run) is not the process's answer
        if (s != null && s.status() >= 0) status = s.status();
        System.exit(status);
    }

    static int run(String[] args, PrintStream out, PrintStream err) {
        if (args.length == 1 && (args[0].equals("-h") || args[0].equals("--help"))) {
            out.print(usage());
            return OK;
        }
        CommandLine.Options options;
        try {
            options = CommandLine.options(args);
        } catch (IllegalArgumentException e) {
            err.println("retort: " + e.getMessage());
            return COMMAND_FAILED;
        }
        args = options.rest();
        boolean commandMode = args.length > 0;
        RetortRuntime runtime;
        try {
            System.setProperty("retort.cache", userCache().toString());  // bundles (the demo's teacher) read it
            System.setProperty(COMMAND_PROPERTY, String.join("\n", ownCommand()));  // kd:ablate --slurm's job scripts start Retort so
            // -Dretort.libtorch, or DJL's own PYTORCH_LIBRARY_PATH: checked, then handed to DJL with its flavor
            Optional<Path> libtorch = Libtorch.requestedFolder();
            if (libtorch.isPresent()) {
                String flavor = Libtorch.use(libtorch.get(), System.getProperty("retort.libtorch.flavor"));
                err.println("retort: libtorch from " + libtorch.get() + " (" + flavor + ")");
            }
            runtime = RetortRuntime.start(settings(), commandMode);
            signals = Signals.install(runtime, err);
        } catch (Exception e) {
            err.println("retort: cannot start the runtime: " + FailureText.beforeRuntime(e));
            if (Boolean.getBoolean("retort.debug")) e.printStackTrace(err);
            return CANNOT_START;
        }
        try {
            runtime.awaitDropIns(Duration.ofSeconds(30));
            ConfPids.reportUnknown(runtime.context(), settings().conf(), err);
            if (options.web() != null) {
                // --web: the view first, as 'kd:web PORT; <command>' does; a view that cannot start ends here
                int web = new CommandRunner(runtime.context(), out, err).run(options.web(), Duration.ofSeconds(30));
                if (web != OK) return web;
            }
            if (!commandMode) {
                // So that a first 'kd:' command typed (or piped) at once finds Retort's commands registered.
                CommandRunner.awaitCommand(runtime.context(), "kd:info", Duration.ofSeconds(30));
                ExitCommand exit = ExitCommand.register(runtime);
                runtime.startShell();
                runtime.awaitStop();
                return exit.status();
            }
            runtime.startShell();
            return new CommandRunner(runtime.context(), out, err).run(CommandLine.join(args), Duration.ofSeconds(30));
        } finally {
            runtime.stop();
        }
    }

    /**
     * The command that starts Retort as this process was started: the java executable, the JVM's options (a
     * debugger's {@code -agentlib:jdwp} left out: a second process would fight over its port) and {@code -jar
     * retort.jar}, or the class path and main class where the launcher does not run from its jar.
     */
    static List<String> ownCommand() {
        List<String> command = new ArrayList<>();
        command.add(ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        for (String option : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (!option.startsWith("-agentlib:jdwp") && !option.startsWith("-Xrunjdwp")) command.add(option);
        }
        Path jar = null;
        try {
            jar = Path.of(Main.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        } catch (URISyntaxException | RuntimeException e) {
            // no code source: the class path below
        }
        if (jar != null && Files.isRegularFile(jar) && jar.toString().endsWith(".jar")) {
            command.add("-jar");
            command.add(jar.toAbsolutePath().toString());
        } else {
            command.add("-cp");
            command.add(System.getProperty("java.class.path"));
            command.add(Main.class.getName());
        }
        return command;
    }

    static RetortRuntime.Settings settings() {
        Path bundles = Path.of(System.getProperty("retort.bundles", "bundles")).toAbsolutePath();
        Path conf = Path.of(System.getProperty("retort.conf", "conf")).toAbsolutePath();
        return new RetortRuntime.Settings(bundles, conf, defaultCacheDir());
    }

    /** {@code djl} in the user's cache folder: never the installation folder, which may be shared or read-only. */
    static Path defaultCacheDir() {
        return userCache().resolve("djl");
    }

    /** {@code -Dretort.cache}, else {@code $XDG_CACHE_HOME/retort}, else {@code ~/.cache/retort}. */
    static Path userCache() {
        String set = System.getProperty("retort.cache");
        if (set != null && !set.isBlank()) return Path.of(set).toAbsolutePath();
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        return base.resolve("retort").toAbsolutePath();
    }

    static String usage() {
        return String.join(System.lineSeparator(),
                "usage: java -jar retort.jar                   open the Gogo shell (type 'help', or 'kd:info')",
                "       java -jar retort.jar <command> [args]  run one command and exit (0 = success)",
                "       java -jar retort.jar '<gogo line>'     one argument is taken as a whole Gogo command line",
                "       java -jar retort.jar --web=8080 kd:train run.cfg   the same, with the web view on 127.0.0.1:8080",
                "",
                "exit status: 0 success, 1 the command failed, 2 the runtime cannot start,",
                "             143 (SIGTERM) / 130 (SIGINT): stopped by the signal; a training stopped at a step boundary",
                "             and wrote last.safetensors (continue with kd:train --resume), 3: aborted by a second signal",
                "",
                "options (before the command): --web[=PORT]      serve the live web view first (kd:web; default 127.0.0.1:8080)",
                "                              --web-host=ADDR   listen on ADDR instead of 127.0.0.1 (reachable by others: a warning)",
                "",
                "system properties: -Dretort.bundles=DIR (drop-in bundles, default ./bundles)",
                "                   -Dretort.conf=DIR    (ConfigAdmin .cfg/.config files, default ./conf)",
                "                   -Dretort.cache=DIR   (caches: libtorch, the demo's teacher; default $XDG_CACHE_HOME/retort",
                "                                         or ~/.cache/retort, never the installation folder)",
                "                   -DDJL_CACHE_DIR=DIR  (where libtorch is unpacked; default djl/ in the cache folder)",
                "                   -Dretort.libtorch=DIR (libtorch " + Libtorch.VERSION + " natives from DIR instead of the jar's CPU build,",
                "                                         e.g. libtorch/lib of libtorch-…-" + Libtorch.VERSION + "+cu128 or torch/lib of a",
                "                                         torch==" + Libtorch.VERSION + "+cu128 Python install: the CUDA route; checked first)",
                "                   -Dretort.libtorch.flavor=F (cpu or cu128; default cu128 when DIR has libtorch_cuda, else cpu)",
                "                   (DJL's PYTORCH_LIBRARY_PATH / PYTORCH_FLAVOR in the environment are read the same way)",
                "                   -Dretort.progress=S  (without a terminal: a progress line every S seconds, default 60)",
                "                   -Dretort.debug=true  (stack traces)",
                "");
    }
}
