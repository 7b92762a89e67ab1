package dev.retort.launcher;

import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.osgi.framework.BundleContext;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;

/**
 * Runs one Gogo command line through the CommandProcessor service and maps the outcome to an exit status.
 *
 * <p>Gogo's API lives in the gogo.runtime bundle, not on the launcher's class path, so the four calls needed
 * (createSession, execute, format, close) go through reflection.
 */
final class CommandRunner {
    private static final String PROCESSOR = "org.apache.felix.service.command.CommandProcessor";
    private static final int INSPECT = 0;
    /** The class of Gogo's runtime that binds a command's words to a method's parameters. */
    private static final String GOGO_BINDER = "org.apache.felix.gogo.runtime.Reflective";  // Converter.INSPECT: the full rendering of a result

    private final BundleContext context;
    private final PrintStream out;
    private final PrintStream err;

    CommandRunner(BundleContext context, PrintStream out, PrintStream err) {
        this.context = context;
        this.out = out;
        this.err = err;
    }

    int run(String commandLine, Duration timeout) {
        // every command of a chained line (kd:web 8080; kd:train run.cfg), not only the first: bundles come up in any order
        for (String part : commandLine.split("[;|]")) {
            String word = firstWord(part);
            if (word.equals(firstWord(commandLine)) || word.matches("kd:[a-z-]+")) awaitCommand(context, word, timeout);
        }
        ServiceReference<?> ref = context.getServiceReference(PROCESSOR);
        if (ref == null) {
            err.println("retort: the Gogo command processor is not available");
            return Main.CANNOT_START;
        }
        Object processor = context.getService(ref);
        try {
            Method create = method(processor, "createSession", InputStream.class, OutputStream.class, OutputStream.class);
            Object session = create.invoke(processor, InputStream.nullInputStream(), out, err);
            try {
                Optional<List<CommandArguments.Call>> calls = CommandArguments.calls(commandLine);
                boolean misfit = false;
                for (CommandArguments.Call call : calls.orElse(List.of())) {
                    Optional<String> why = CommandArguments.misfit(context, call);
                    if (why.isEmpty()) continue;
                    err.println("retort: " + call.command() + ": " + why.get() + "; usage:");
                    err.println(usage(session, call.command()));
                    misfit = true;
                }
                if (misfit) return Main.COMMAND_FAILED;  // nothing of the line has run
                Object result = method(session, "execute", CharSequence.class).invoke(session, commandLine);
                if (result != null) {
                    Object text = method(session, "format", Object.class, int.class).invoke(session, result, INSPECT);
                    out.println(text);
                }
                out.flush();
                return Main.OK;
            } catch (InvocationTargetException e) {
                out.flush();
                if (isBindingFailure(e.getCause())) {
                    // Gogo found no signature for the words (a form the check above does not read): the usage instead
                    err.println("retort: " + commandLine + ": the arguments fit no form of the command; usage:");
                    for (CommandArguments.Call call : calls(commandLine)) err.println(usage(session, call.command()));
                    return Main.COMMAND_FAILED;
                }
                err.println("retort: " + commandLine + ": " + FailureText.describe(context, e.getCause()));
                if (Boolean.getBoolean("retort.debug")) e.getCause().printStackTrace(err);
                return Main.COMMAND_FAILED;
            } finally {
                method(session, "close").invoke(session);
            }
        } catch (ReflectiveOperationException e) {
            err.println("retort: cannot drive Gogo: " + FailureText.beforeRuntime(e));
            return Main.CANNOT_START;
        } finally {
            context.ungetService(ref);
        }
    }

    /** Gogo's own answer when no signature of a command takes the words: thrown by its reflective binder itself. */
    static boolean isBindingFailure(Throwable t) {
        StackTraceElement[] trace = t.getStackTrace();
        return t instanceof IllegalArgumentException && trace.length > 0 && trace[0].getClassName().equals(GOGO_BINDER);
    }

    /** What {@code help <command>} prints: the command's forms, options and parameters. */
    private String usage(Object session, String command) {
        try {
            Object help = method(session, "execute", CharSequence.class).invoke(session, "help " + command);
            return String.valueOf(help).stripTrailing();
        } catch (ReflectiveOperationException e) {
            return "(see help " + command + ")";
        }
    }

    private static List<CommandArguments.Call> calls(String commandLine) {
        List<CommandArguments.Call> scoped = new ArrayList<>();
        for (String part : commandLine.split("[;|]")) {
            String word = firstWord(part);
            if (word.matches("[a-z]+:[a-z-]+")) scoped.add(new CommandArguments.Call(word, List.of()));
        }
        return scoped;
    }

    /** Commands of bundles come up asynchronously (DS); wait for a scoped command to be registered. */
    static void awaitCommand(BundleContext context, String word, Duration timeout) {
        int colon = word.indexOf(':');
        if (colon <= 0) return;
        String scope = word.substring(0, colon);
        String function = word.substring(colon + 1);
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            try {
                ServiceReference<?>[] refs = context.getAllServiceReferences(null, "(osgi.command.scope=" + scope + ")");
                if (refs != null && Arrays.stream(refs).anyMatch(r -> provides(r, function))) return;
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (InvalidSyntaxException e) {
                return;  // not a plain scope name: let Gogo report it
            }
        }
    }

    private static boolean provides(ServiceReference<?> ref, String function) {
        Object f = ref.getProperty("osgi.command.function");
        if (f instanceof String s) return s.equals(function);
        if (f instanceof String[] a) return Arrays.asList(a).contains(function);
        return false;
    }

    private static String firstWord(String line) {
        String t = line.strip();
        int end = 0;
        while (end < t.length() && !Character.isWhitespace(t.charAt(end)) && ";|".indexOf(t.charAt(end)) < 0) end++;
        return t.substring(0, end);
    }

    private static Method method(Object target, String name, Class<?>... params) throws NoSuchMethodException {
        for (Class<?> type : target.getClass().getInterfaces()) {
            try {
                return type.getMethod(name, params);
            } catch (NoSuchMethodException ignored) {
                // try the next interface
            }
        }
        Method m = target.getClass().getMethod(name, params);
        m.setAccessible(true);
        return m;
    }
}
