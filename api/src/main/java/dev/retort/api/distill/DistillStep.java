package dev.retort.api.distill;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.retort.api.tap.TapValues;
import java.util.Objects;

/**
 * One step's inputs to every module.
 *
 * @param teacher  the teacher's taps (constants: no gradient flows into the teacher)
 * @param student  the student's taps
 * @param training training mode (BatchNorm batch statistics)
 * @param manager  the step's manager: arrays created here are released at the end of the step
 * @param refiner  applies the refinements registered for a port (identity when there are none)
 * @param probe    receives named intermediate tensors modules choose to show (e.g. {@code csf.out.2}) for
 *                 parity checks and inspection; {@link Probe#NONE} in training
 * @param progress where training stands (since 1.2; {@link TrainingProgress#FIRST} where there is no run)
 * @param labels   the batch's ground truth, or {@code null} where there is none (since 1.2; see {@link #requireLabels})
 */
public record DistillStep(TapValues teacher, TapValues student, boolean training, NDManager manager, PortRefiner refiner,
                          Probe probe, TrainingProgress progress, Labels labels) {
    public DistillStep {
        Objects.requireNonNull(teacher, "teacher");
        Objects.requireNonNull(student, "student");
        Objects.requireNonNull(manager, "manager");
        Objects.requireNonNull(refiner, "refiner");
        Objects.requireNonNull(probe, "probe");
        Objects.requireNonNull(progress, "progress");
    }

    /** A step without progress or labels (the 1.1 constructor). */
    public DistillStep(TapValues teacher, TapValues student, boolean training, NDManager manager, PortRefiner refiner, Probe probe) {
        this(teacher, student, training, manager, refiner, probe, TrainingProgress.FIRST, null);
    }

    /** A step that records nothing. */
    public DistillStep(TapValues teacher, TapValues student, boolean training, NDManager manager, PortRefiner refiner) {
        this(teacher, student, training, manager, refiner, Probe.NONE);
    }

    /**
     * The batch's ground truth, for a module whose loss needs it.
     *
     * @throws IllegalStateException naming {@code module} when the step has none (a dry step or a parity check without labels)
     * @since 1.2
     */
    public Labels requireLabels(String module) {
        if (labels == null) throw new IllegalStateException(module + " needs the batch's labels, and this step has none");
        return labels;
    }

    /** Shows an intermediate tensor to the probe (no cost when nobody records). */
    public void record(String name, NDArray value) {
        probe.record(name, value);
    }

    /** Passes {@code value} through the refinements of {@code port}, in order. */
    public NDArray refine(String port, NDArray value) {
        return refiner.refine(port, value, this);
    }
}
