/**
 * What distiller bundles share, so that a new method is mostly its own mathematics.
 *
 * <ul>
 *   <li>{@link dev.retort.distill.support.ConfiguredDistiller}: the Declarative Services and MetaType skeleton of a
 *       distiller component. Each default is written once, in the component's MetaType annotation; the ConfigAdmin
 *       keys are its attribute names ({@code midChannels}), a run's {@code module.<name>.} keys their snake_case
 *       form ({@code mid_channels}). A configuration it cannot accept is reported by {@code rejection()}, never
 *       replaced by the defaults. {@link dev.retort.distill.support.ComponentConfiguration} is the same rule for any
 *       component.</li>
 *   <li>{@link dev.retort.distill.support.ConfiguredModule}: a module built with a distiller's options, whose
 *       re-configuration is decided once for every distiller by the declaration: an attribute of the MetaType
 *       annotation marked {@link dev.retort.distill.support.Structural} rebuilds the module, any other is applied in
 *       place; each component of the options record stands for the key of its name (or the one its
 *       {@link dev.retort.distill.support.Setting} names).</li>
 *   <li>Connectors: {@link dev.retort.distill.support.ConvBn} (convolution + BatchNorm, e.g. 1×1),
 *       {@link dev.retort.distill.support.LinearProjection} and {@link dev.retort.distill.support.Resize}.</li>
 *   <li>{@link dev.retort.distill.support.Losses}: MSE, KL with temperature, channel-wise divergence, ReviewKD's
 *       HCL pyramid loss, weighted cross-entropy.</li>
 *   <li>{@link dev.retort.distill.support.ReviewPyramid}: ReviewKD's top-down review of the student's stage maps
 *       (1×1 in, fusion with the deeper stage, 3×3 out), shared by ReviewKD (ABF fusion) and TransKD's CSF (SK
 *       fusion); {@link dev.retort.distill.support.PyramidDistiller} is the whole distiller of that family but for
 *       the fusion.</li>
 *   <li>{@link dev.retort.distill.support.ParameterModule}: a built module's name, parameters and {@code close}
 *       (every distiller module's base, through {@code ConfiguredModule}).</li>
 *   <li>{@link dev.retort.distill.support.ModuleRoster} (modules built from distillers and wired by port) and
 *       {@link dev.retort.distill.support.Objective} (cross-entropy + Σ weight·term): the one place where modules are
 *       built and the loss is composed, for training, {@code kd:modules} and parity alike.</li>
 *   <li>{@link dev.retort.distill.support.StagePair}: a stage's feature maps on both sides, checked to be the same
 *       size (FitNet, CWD, TaT); {@link dev.retort.distill.support.FixturePairComputation}: a bundle's own parity
 *       computation over its weights/io fixture pair (TaT, CSKD).</li>
 *   <li>{@link dev.retort.distill.support.RandomTaps}: MiT-shaped tap layouts and random values, for a distiller's own
 *       tests.</li>
 * </ul>
 *
 * <p>Components that extend {@code ConfiguredDistiller} inherit its {@code @Activate}/{@code @Modified} method and
 * its engine reference: their bundle is built with bnd's {@code -dsannotations-options: inherit} (set for every
 * Retort bundle in the top-level {@code bnd.bnd}).
 *
 * <p>1.3: {@code PyramidDistiller}, {@code ParameterModule}; {@code ModuleRoster.join}, a sealed answer (accepted, or refused
 * with the reason); user errors are {@code RetortConfigException}s.
 * 1.4: {@code ConfiguredModule}, {@code Structural}, {@code Setting}, {@code ConfiguredDistiller.changes},
 * {@code StagePair}, {@code FixturePairComputation}.
 */
@Version("1.4.0")
@Export
package dev.retort.distill.support;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
