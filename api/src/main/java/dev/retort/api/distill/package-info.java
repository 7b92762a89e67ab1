/**
 * Distillers: services that build trainable distillation modules.
 *
 * <p>A {@link dev.retort.api.distill.Distiller} service (registered by its bundle, e.g. {@code pea}) builds a
 * {@link dev.retort.api.distill.DistillationModule} from the teacher's and the student's
 * {@link dev.retort.api.tap.TapLayout}s and a configuration. Building checks that the taps it needs exist and
 * fit, and fails with a message that names both sides; it never fails later, in the middle of training. A
 * module owns its parameters (named as in the reference checkpoints) and turns one step's teacher and student
 * taps into named, weighted {@link dev.retort.api.distill.LossTerm}s.
 *
 * <h2>Composition through ports</h2>
 * Some modules refine what another module compares instead of adding a loss of their own: GL-Mixer re-mixes
 * the stage-4 student embedding before PEA projects it, EA blends a teacher-width assistant into PEA's
 * projection. A module names the points of its computation that others may refine
 * ({@link dev.retort.api.distill.DistillationModule#ports()}, e.g. {@code pea.input.4}) and passes each
 * value through {@link dev.retort.api.distill.DistillStep#refine}. A module that refines lists
 * {@link dev.retort.api.distill.Refinement}s for ports of other modules. The runner only wires the two lists
 * together, in {@link dev.retort.api.distill.Refinement#order()} order, so it never needs to know a module by
 * name; a refinement whose port no active module offers is a build error.
 *
 * <h2>Configuration</h2>
 * A distiller declares what a run may configure through {@link dev.retort.api.distill.Distiller#validate}
 * (1.1): unknown keys and bad values are errors before a run starts. A ConfigAdmin configuration it cannot
 * accept is reported by {@link dev.retort.api.distill.Distiller#rejection()} instead of being replaced by defaults.
 *
 * <h2>Re-configuration during a run</h2>
 * A distiller re-configured while a run uses its module gets the chance to apply the change to the built module
 * ({@link dev.retort.api.distill.DistillationModule#reconfigure}, since 1.1): non-structural keys (loss
 * weights, temperatures) are applied in place and the trained parameters stay; structural keys (channel counts,
 * stages, initial values of learnable parameters) make the runner build the module anew, and it says so.
 *
 * <h2>Progress, labels and preparation (1.2)</h2>
 * Each {@link dev.retort.api.distill.DistillStep} carries the run's {@link dev.retort.api.distill.TrainingProgress}
 * (CSKD's fusion weight, loss-weight schedules) and the batch's {@link dev.retort.api.distill.Labels} with the
 * dataset's ignore convention. A module that must be trained on the frozen teacher before it distils (MasKD's
 * receptive tokens) returns a {@link dev.retort.api.distill.Preparation} from
 * {@link dev.retort.api.distill.DistillationModule#preparation()}; the runner runs that phase with its own optimiser
 * when the module joins, then freezes what it trained (parameters that stay in the module and its checkpoints but
 * leave the optimiser). All additions are default methods or new types, so 1.0 and 1.1 modules work unchanged.
 *
 * <h2>Teacher taps a module reads (1.3)</h2>
 * {@link dev.retort.api.distill.DistillationModule#teacherTaps()} names the teacher taps a module's forward reads, so a
 * runner that caches the teacher's outputs stores only those; a module that does not say gets every tap (a default
 * method: 1.2 modules work unchanged).
 */
@Version("1.3.0")
@Export
package dev.retort.api.distill;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
