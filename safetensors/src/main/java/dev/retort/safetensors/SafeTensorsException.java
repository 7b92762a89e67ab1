package dev.retort.safetensors;

import java.io.IOException;

/** A safetensors file that cannot be used; the message names the file and, where it applies, the tensor. */
public class SafeTensorsException extends IOException {
    private static final long serialVersionUID = 1L;

    public SafeTensorsException(String message) {
        super(message);
    }

    public SafeTensorsException(String message, Throwable cause) {
        super(message, cause);
    }
}
