package dev.retort.runner.train;

import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;

/**
 * Failures as one line a user reads: the message alone, never an exception's class name or a stack trace unless
 * {@code -Dretort.debug=true} (then the class is named too). The JDK's file-system errors, whose message is only the
 * path, are said in words; an error without any message says it is an internal one and how to see its trace.
 */
final class Failures {
    static final String DEBUG = "retort.debug";

    private Failures() {}

    static String describe(Throwable t) {
        String m = message(t);
        return Boolean.getBoolean(DEBUG) ? t.getClass().getName() + ": " + m : m;
    }

    private static String message(Throwable t) {
        if (t instanceof FileSystemException f) {
            String path = f.getFile(), why = f.getReason();
            String what = t instanceof NoSuchFileException ? "no such file or folder" : t instanceof AccessDeniedException ? "permission denied"
                    : t instanceof FileAlreadyExistsException ? "already exists" : t instanceof NotDirectoryException ? "not a folder"
                    : t instanceof DirectoryNotEmptyException ? "folder not empty" : why != null ? why : "file-system error";
            return (path == null ? "" : path + ": ") + what + (f.getOtherFile() == null ? "" : " (" + f.getOtherFile() + ")");
        }
        if (t instanceof OutOfMemoryError) return "out of memory (" + t.getMessage() + "): give the JVM more heap (-Xmx) or lower batch_size";
        String m = t.getMessage();
        if (m != null && !m.isBlank()) return m;
        if (t.getCause() != null && t.getCause() != t) return message(t.getCause());
        return "an internal error without a message (run with -D" + DEBUG + "=true to see its trace)";
    }
}
