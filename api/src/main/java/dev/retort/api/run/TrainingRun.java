package dev.retort.api.run;

import java.util.concurrent.CompletionStage;
import org.osgi.annotation.versioning.ProviderType;

/** A run, registered as a service by the runner while it runs. Control takes effect at the next step boundary. */
@ProviderType
public interface TrainingRun {
    String id();

    /** The run as the api's records. */
    RunConfig config();

    /** Its checked description. */
    RunPlan plan();

    RunStatus status();

    /** What it produced so far; final once it ended. */
    RunResult result();

    /**
     * Completes with the final result once the run has ended and the request's own listener (if any) has received
     * its last event; never completes exceptionally (a failed run's result says {@link RunState#FAILED}).
     */
    CompletionStage<RunResult> completion();

    /** Pauses at the next step boundary. */
    void pause();

    void resume();

    /** Stops at the next step boundary; the last checkpoint is kept. */
    void stop();

    /**
     * Leaves a module out from the next step on, keeping its parameters and optimiser state ({@code kd:disable}).
     *
     * @throws IllegalArgumentException for a module this run cannot use
     */
    void disable(String module);

    /** Brings a disabled module back, continuing from its state ({@code kd:enable}). */
    void enable(String module);
}
