package dev.retort.pytorch;

import java.io.IOException;

/** A PyTorch checkpoint that cannot be used; the message names the file and the problem. */
public class CheckpointException extends IOException {
    private static final long serialVersionUID = 1L;

    public CheckpointException(String message) {
        super(message);
    }

    public CheckpointException(String message, Throwable cause) {
        super(message, cause);
    }
}
