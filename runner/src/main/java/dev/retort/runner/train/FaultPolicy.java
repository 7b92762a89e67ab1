package dev.retort.runner.train;

import java.util.Arrays;
import java.util.List;

/** What a run does when a step goes wrong; one enum per fault, each value spelt as in the run file. */
final class FaultPolicy {
    /** Consecutive non-finite steps after which 'skip' gives up: the parameters themselves are then beyond repair. */
    static final int NON_FINITE_LIMIT = 20;

    private FaultPolicy() {}

    /** What one more non-finite step means under a policy. */
    enum Verdict {
        /** Skip it and go on. */
        SKIP,
        /** End the phase ({@code on_nonfinite = stop}). */
        STOP,
        /** {@link #NON_FINITE_LIMIT} in a row: the parameters diverged. */
        DIVERGED
    }

    /** Counts non-finite steps in a row; training and preparation phases use one each. */
    static final class Guard {
        private final NonFinite policy;
        private int inARow;

        Guard(NonFinite policy) {
            this.policy = policy;
        }

        Verdict nonFinite() {
            if (++inARow >= NON_FINITE_LIMIT) return Verdict.DIVERGED;
            return policy == NonFinite.STOP ? Verdict.STOP : Verdict.SKIP;
        }

        void finite() {
            inARow = 0;
        }

        int inARow() {
            return inARow;
        }
    }

    /** {@code on_module_error}: a module threw during a step (the step is skipped either way). */
    enum ModuleError {
        /** Leave the module out from the next step on (kd:enable brings it back). */
        DISABLE("disable"),
        /** Keep it; only the step is lost. */
        SKIP_STEP("skip-step");

        final String key;

        ModuleError(String key) {
            this.key = key;
        }

        static ModuleError of(String value) {
            return Arrays.stream(values()).filter(v -> v.key.equals(value)).findFirst().orElse(null);
        }

        static List<String> keys() {
            return Arrays.stream(values()).map(v -> v.key).toList();
        }
    }

    /** {@code on_nonfinite}: the loss or a gradient was NaN or infinite. */
    enum NonFinite {
        /** Skip the step, leaving no trace (buffers restored), up to {@link #NON_FINITE_LIMIT} in a row. */
        SKIP("skip"),
        /** End the run; the last checkpoint is kept. */
        STOP("stop");

        final String key;

        NonFinite(String key) {
            this.key = key;
        }

        static NonFinite of(String value) {
            return Arrays.stream(values()).filter(v -> v.key.equals(value)).findFirst().orElse(null);
        }

        static List<String> keys() {
            return Arrays.stream(values()).map(v -> v.key).toList();
        }
    }
}
