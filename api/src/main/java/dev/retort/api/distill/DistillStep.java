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
 */
public record DistillStep(TapValues teacher, TapValues student, boolean training, NDManager manager, PortRefiner refiner,
                          Probe probe) {
    public DistillStep {
        Objects.requireNonNull(teacher, "teacher");
        Objects.requireNonNull(student, "student");
        Objects.requireNonNull(manager, "manager");
        Objects.requireNonNull(refiner, "refiner");
        Objects.requireNonNull(probe, "probe");
    }

    /** A step that records nothing. */
    public DistillStep(TapValues teacher, TapValues student, boolean training, NDManager manager, PortRefiner refiner) {
        this(teacher, student, training, manager, refiner, Probe.NONE);
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
