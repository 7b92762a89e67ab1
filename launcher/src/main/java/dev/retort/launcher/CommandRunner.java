package dev.retort.launcher;

import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.time.Duration;
import java.util.Arrays;
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
    private static final int INSPECT = 0;  // Converter.INSPECT: the full rendering of a result

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
                Object result = method(session, "execute", CharSequence.class).invoke(session, commandLine);
                if (result != null) {
                    Object text = method(session, "format", Object.class, int.class).invoke(session, result, INSPECT);
                    out.println(text);
                }
                out.flush();
                return Main.OK;
            } catch (InvocationTargetException e) {
                out.flush();
                if (notFitting(e.getCause())) {
                    usage(session, commandLine);
                    return Main.COMMAND_FAILED;
                }
                err.println("retort: " + commandLine + ": " + describe(e.getCause()));
                if (Boolean.getBoolean("retort.debug")) e.getCause().printStackTrace(err);
                return Main.COMMAND_FAILED;
            } finally {
                method(session, "close").invoke(session);
            }
        } catch (ReflectiveOperationException e) {
            err.println("retort: cannot drive Gogo: " + describe(e));
            return Main.CANNOT_START;
        } finally {
            context.ungetService(ref);
        }
    }

    /** Gogo's answer when the words given fit none of a command's signatures (an option twice, an argument too many or missing). */
    private static boolean notFitting(Throwable t) {
        return t instanceof IllegalArgumentException && t.getMessage() != null && t.getMessage().startsWith("Cannot coerce ");
    }

    /** Says that the arguments do not fit and prints the command's usage (Gogo's {@code help}), instead of Gogo's signature list. */
    private void usage(Object session, String commandLine) throws ReflectiveOperationException {
        String word = firstWord(commandLine);
        err.println("retort: " + commandLine + ": the arguments do not fit " + word + " (an option given twice, an argument missing or too many);"
                + " each option is given once (--set takes one list: --set iterations=20,seed=3). Usage:");
        err.flush();
        try {
            Object help = method(session, "execute", CharSequence.class).invoke(session, "help " + word);
            if (help != null) err.println(method(session, "format", Object.class, int.class).invoke(session, help, INSPECT));
        } catch (InvocationTargetException none) {
            err.println("  (no usage available: try 'help' in the shell)");
        }
        out.flush();
        err.flush();
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

    /**
     * The message of an exception and its causes, one line, for the user: messages only, never a class name unless
     * {@code -Dretort.debug=true} (which also prints the trace). The JDK's file-system errors, whose message is a bare
     * path, are said in words; a cause whose message the text already holds adds nothing and is left out; an error
     * with no message at all says it is an internal one and how to see it.
     */
    static String describe(Throwable t) {
        boolean debug = Boolean.getBoolean("retort.debug");
        StringBuilder b = new StringBuilder();
        for (Throwable c = t; c != null; c = c.getCause()) {
            String m = message(c);
            if (m == null || b.indexOf(m) >= 0) {
                if (c.getCause() == c) break;
                continue;
            }
            if (b.length() > 0) b.append(" <- ");
            b.append(debug ? c.getClass().getName() + ": " + m : m);
            if (c.getCause() == c) break;
        }
        if (b.length() == 0) b.append("an internal error without a message (run with -Dretort.debug=true to see its trace)");
        return b.toString();
    }

    private static String message(Throwable t) {
        if (t instanceof java.nio.file.FileSystemException f) {
            String what = t instanceof java.nio.file.NoSuchFileException ? "no such file or folder"
                    : t instanceof java.nio.file.AccessDeniedException ? "permission denied"
                    : t instanceof java.nio.file.FileAlreadyExistsException ? "already exists"
                    : t instanceof java.nio.file.NotDirectoryException ? "not a folder"
                    : t instanceof java.nio.file.DirectoryNotEmptyException ? "folder not empty" : f.getReason() != null ? f.getReason() : "file-system error";
            return (f.getFile() == null ? "" : f.getFile() + ": ") + what;
        }
        if (t instanceof OutOfMemoryError) return "out of memory (" + t.getMessage() + "): give the JVM more heap (-Xmx)";
        String m = t.getMessage();
        return m == null || m.isBlank() ? null : m;
    }
}
