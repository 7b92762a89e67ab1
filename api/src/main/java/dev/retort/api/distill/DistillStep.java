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
 */
public record DistillStep(TapValues teacher, TapValues student, boolean training, NDManager manager, PortRefiner refiner) {
    public DistillStep {
        Objects.requireNonNull(teacher, "teacher");
        Objects.requireNonNull(student, "student");
        Objects.requireNonNull(manager, "manager");
        Objects.requireNonNull(refiner, "refiner");
    }

    /** Passes {@code value} through the refinements of {@code port}, in order. */
    public NDArray refine(String port, NDArray value) {
        return refiner.refine(port, value, this);
    }
}
