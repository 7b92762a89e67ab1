package dev.retort.pytorch;

import dev.retort.api.error.RetortConfigException;

/**
 * A PyTorch checkpoint that cannot be used (refused, truncated, corrupted); the message names the file and the problem.
 * A user error: Retort prints it as its message alone.
 */
public class CheckpointException extends RetortConfigException {
    private static final long serialVersionUID = 1L;

    public CheckpointException(String message) {
        super(message);
    }

    public CheckpointException(String message, Throwable cause) {
        super(message, cause);
    }
}
