package dev.retort.weights;

import java.io.IOException;

/** A weights file or folder that cannot be used; the message names it and the problem. */
public class WeightsException extends IOException {
    private static final long serialVersionUID = 1L;

    public WeightsException(String message) {
        super(message);
    }
}
