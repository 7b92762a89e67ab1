package dev.retort.api.error;

/**
 * A user error: a setting, argument, file or state the user can correct (an unknown key, a value out of range, a
 * missing file, a run that does not exist). {@link Failures#describe} prints it as its message alone, without its
 * type or a stack trace; the message must therefore say what is wrong and, where it can, what would be right.
 *
 * <p>It extends {@link IllegalArgumentException} so that code which checks arguments keeps its contract; the
 * converse does not hold: an {@code IllegalArgumentException} of another type (DJL's shape errors, a bug's failed
 * check) is not a user error and prints with its type.
 */
public class RetortConfigException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    public RetortConfigException(String message) {
        super(message);
    }

    /** A user error found while handling {@code cause} (e.g. a file that does not parse). */
    public RetortConfigException(String message, Throwable cause) {
        super(message, cause);
    }
}
