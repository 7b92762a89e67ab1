package dev.retort.api.run;

/** Where a run stands. */
public enum RunState {
    /** Building networks and modules, opening the data, restoring a checkpoint. */
    STARTING,
    RUNNING,
    /** Holding at a step boundary until resumed or stopped. */
    PAUSED,
    /** Trained every step it was asked for. */
    FINISHED,
    /** Ended early on request ({@code kd:stop}, a signal) or by a fault policy (non-finite loss under {@code stop}); the last checkpoint is kept. */
    STOPPED,
    /** Ended by an error. */
    FAILED;

    /** Whether the run has ended (finished, stopped or failed). */
    public boolean ended() {
        return this == FINISHED || this == STOPPED || this == FAILED;
    }
}
