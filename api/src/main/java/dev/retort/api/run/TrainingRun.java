package dev.retort.api.run;

import org.osgi.annotation.versioning.ProviderType;

/** A run in progress, registered as a service by the runner while it exists. */
@ProviderType
public interface TrainingRun {
    String id();

    RunConfig config();

    RunStatus status();

    /** Pauses at the next step boundary. */
    void pause();

    void resume();

    /** Stops at the next step boundary; the last checkpoint is kept. */
    void stop();
}
