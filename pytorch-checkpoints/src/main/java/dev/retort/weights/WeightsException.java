package dev.retort.weights;

import dev.retort.api.error.RetortConfigException;

/** A weights file or folder that cannot be used; the message names it and the problem. A user error. */
public class WeightsException extends RetortConfigException {
    private static final long serialVersionUID = 1L;

    public WeightsException(String message) {
        super(message);
    }
}
