package dev.retort.api.error;

import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;

/** How Retort tells a user what failed: one line, the same in the shell, the launcher and a run's log and events. */
public interface Failures {
    /** The system property that adds exception types (and, where a trace can be printed, the trace). */
    String DEBUG = "retort.debug";

    /** Whether {@code -Dretort.debug=true} asks for exception types and stack traces. */
    static boolean debug() {
        return Boolean.getBoolean(DEBUG);
    }

    /**
     * The message of {@code t} and of its causes, one line, joined by {@code " <- "}: messages only, never an
     * exception's type name nor a stack trace (with {@code -Dretort.debug=true} each part is preceded by its type).
     * The JDK's file-system errors, whose message is a bare path, say what happened to it ({@code run.cfg: no such
     * file or folder}); a cause whose message the line already holds adds nothing and is left out; a failure without
     * any message says so and how to see more. A {@link RetortConfigException} (a user error) reads as its message,
     * and so does every other failure: messages must therefore say what went wrong.
     */
    static String describe(Throwable t) {
        boolean debug = debug();
        StringBuilder b = new StringBuilder();
        for (Throwable c = t; c != null; c = c.getCause()) {
            String m = message(c);
            // a wrapper made as new X(cause) has the cause's toString(), type and all, as its message: the cause says it
            if (m != null && c.getCause() != null && m.equals(c.getCause().toString())) m = null;
            if (m != null && b.indexOf(m) >= 0) {
                if (c.getCause() == c) break;
                continue;
            }
            if (m == null && !debug) {
                if (c.getCause() == c) break;
                continue;  // a message-less wrapper (InvocationTargetException, ExecutionException): its cause says it
            }
            if (b.length() > 0) b.append(" <- ");
            if (debug) b.append(c.getClass().getName()).append(m == null ? "" : ": ");
            if (m != null) b.append(m);
            if (c.getCause() == c) break;
        }
        if (b.length() == 0) b.append("an internal error without a message (run with -D" + DEBUG + "=true to see its type and trace)");
        return b.toString();
    }

    /** Whether {@code t} is a user error, to correct rather than to report: a {@link RetortConfigException} or an {@link IllegalStateException}. */
    static boolean readsAsMessage(Throwable t) {
        return t instanceof RetortConfigException || t instanceof IllegalStateException;
    }

    private static String message(Throwable t) {
        if (t instanceof FileSystemException f) {
            String what = t instanceof NoSuchFileException ? "no such file or folder" : t instanceof AccessDeniedException ? "permission denied"
                    : t instanceof FileAlreadyExistsException ? "already exists" : t instanceof NotDirectoryException ? "not a folder"
                    : t instanceof DirectoryNotEmptyException ? "folder not empty" : f.getReason() != null ? f.getReason() : "file-system error";
            return (f.getFile() == null ? "" : f.getFile() + ": ") + what + (f.getOtherFile() == null ? "" : " (" + f.getOtherFile() + ")");
        }
        if (t instanceof OutOfMemoryError) return "out of memory (" + t.getMessage() + "): give the JVM more heap (-Xmx) or lower batch_size";
        String m = t.getMessage();
        return m == null || m.isBlank() ? null : m;
    }
}
