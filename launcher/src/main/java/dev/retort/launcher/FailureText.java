package dev.retort.launcher;

import java.lang.reflect.Method;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;

/**
 * Renders a failure for the user with the API's one rule ({@code dev.retort.api.error.Failures#describe}: a user error
 * by its message, anything else with its type). The API lives in a bundle, not on the launcher's class path, so its
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
     * A failure of the launcher itself, before the runtime and its API exist: its own checks (a libtorch folder that
     * lacks a file, a bad option) are {@code IllegalArgumentException}s and {@code IllegalStateException}s and read
     * as their message; anything else (a folder it cannot create, a native library that does not load) keeps its
     * type. Causes follow after {@code <-}.
     */
    static String beforeRuntime(Throwable t) {
        StringBuilder b = new StringBuilder();
        for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
            String m = c.getMessage();
            if (m != null && !m.isBlank() && b.indexOf(m) >= 0) continue;
            if (b.length() > 0) b.append(" <- ");
            boolean own = c instanceof IllegalArgumentException || c instanceof IllegalStateException;
            if (m == null || m.isBlank()) b.append(c.getClass().getSimpleName());
            else b.append(own ? m : c.getClass().getSimpleName() + ": " + m);
        }
        return b.toString();
    }
}
