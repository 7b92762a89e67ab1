package dev.retort.api.error;

/** How Retort tells a user what failed: one line, the same in the shell, the launcher and a run's log and events. */
public interface Failures {
    /**
     * The message of {@code t} and of its causes, one line, joined by {@code " <- "}. A {@link RetortConfigException}
     * reads as its message alone, and so does an {@link IllegalStateException}, the commands' answer about a state
     * (no run in progress, a run folder in use); any other throwable keeps its simple type name (an
     * {@code IllegalArgumentException} from DJL is a fault to report, not the user's mistake), as does one without a
     * message. A cause whose message the line already holds adds nothing and is left out. Never a stack trace.
     */
    static String describe(Throwable t) {
        StringBuilder b = new StringBuilder();
        for (Throwable c = t; c != null; c = c.getCause()) {
            String m = c.getMessage();
            if (m != null && !m.isBlank() && b.indexOf(m) >= 0) continue;
            if (b.length() > 0) b.append(" <- ");
            if (m == null || m.isBlank()) b.append(c.getClass().getSimpleName());
            else if (readsAsMessage(c)) b.append(m);
            else b.append(c.getClass().getSimpleName()).append(": ").append(m);
            if (c.getCause() == c) break;
        }
        return b.toString();
    }

    /** Whether {@code t} reads as its message alone: a {@link RetortConfigException} or an {@link IllegalStateException}. */
    static boolean readsAsMessage(Throwable t) {
        return t instanceof RetortConfigException || t instanceof IllegalStateException;
    }
}
