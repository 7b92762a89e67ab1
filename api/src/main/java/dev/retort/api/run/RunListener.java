package dev.retort.api.run;

import org.osgi.annotation.versioning.ConsumerType;

/** Whiteboard: every registered listener receives every run's events, on the training thread; return quickly. */
@ConsumerType
public interface RunListener {
    void onEvent(RunEvent event);
}
