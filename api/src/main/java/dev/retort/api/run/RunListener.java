package dev.retort.api.run;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * Receives run events. Registered as a service (whiteboard), a listener receives every run's events; given in a
 * {@link RunRequest}, it receives that run's. Either way events arrive in order on a thread of the listener's own,
 * never on the training thread, so a slow listener delays only itself.
 */
@ConsumerType
public interface RunListener {
    void onEvent(RunEvent event);
}
