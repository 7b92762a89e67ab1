package dev.retort.launcher;

import java.lang.reflect.Method;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;

/**
 * Renders a failure for the user with the API's one rule ({@code dev.retort.api.error.Failures#describe}: messages,
 * never a type name or a trace unless {@code -Dretort.debug=true}). The API lives in a bundle, not on the launcher's class path, so its
 * {@code describe} is reached through the API bundle's class loader.
 */
final class FailureText {
    static final String API_BUNDLE = "dev.retort.api";
    static final String FAILURES = "dev.retort.api.error.Failures";

    private FailureText() {}

    /** {@code t} as the API describes it; as {@link #beforeRuntime} when the API bundle cannot be reached. */
    static String describe(BundleContext context, Throwable t) {
        try {
            for (Bundle b : context.getBundles()) {
                if (API_BUNDLE.equals(b.getSymbolicName())) {
                    Method describe = b.loadClass(FAILURES).getMethod("describe", Throwable.class);
                    return (String) describe.invoke(null, t);
                }
            }
        } catch (ReflectiveOperationException | IllegalStateException e) {
            // the framework is stopping or the API bundle is not resolved: the plain rendering below
        }
        return beforeRuntime(t);
    }

    /**
     * A failure of the launcher itself, before the runtime and its API exist (a libtorch folder that lacks a file, a bad
     * option, a folder it cannot create, a native library that does not load): its messages, causes after {@code <-},
     * never a type name unless {@code -Dretort.debug=true} — the API's rule, without the API.
     */
    static String beforeRuntime(Throwable t) {
        boolean debug = Boolean.getBoolean("retort.debug");
        StringBuilder b = new StringBuilder();
        for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
            String m = c instanceof java.nio.file.NoSuchFileException f ? f.getFile() + ": no such file or folder"
                    : c instanceof java.nio.file.AccessDeniedException f ? f.getFile() + ": permission denied" : c.getMessage();
            if (m != null && !m.isBlank() && b.indexOf(m) >= 0) continue;
            if ((m == null || m.isBlank()) && !debug) continue;
            if (b.length() > 0) b.append(" <- ");
            if (debug) b.append(c.getClass().getName()).append(m == null || m.isBlank() ? "" : ": ");
            if (m != null && !m.isBlank()) b.append(m);
        }
        if (b.length() == 0) b.append("an internal error without a message (run with -Dretort.debug=true to see its type and trace)");
        return b.toString();
    }
}
