/**
 * Retort's contracts. Everything a backbone, distillation or dataset bundle needs to plug into the
 * runner lives in the sub-packages; implementations stay private to their bundles.
 *
 * <ul>
 *   <li>{@link dev.retort.api.tap} — named tensors a network exposes ("taps") and their static description.</li>
 *   <li>{@link dev.retort.api.backbone} — services that build segmentation networks by name.</li>
 *   <li>{@link dev.retort.api.distill} — services that build trainable distillation modules from two tap layouts.</li>
 *   <li>{@link dev.retort.api.data} — segmentation datasets opened by name, root, split and protocol.</li>
 *   <li>{@link dev.retort.api.run} — the run description the runner consumes and the events it publishes.</li>
 * </ul>
 *
 * Tensors are DJL {@code NDArray}s. DJL is not a bundle: the launcher puts it on the class path and exports
 * {@code ai.djl.*} through the system bundle, and registers the PyTorch {@code ai.djl.engine.Engine} as a
 * service. A bundle must not touch DJL before that service exists, so every component that computes holds a
 * reference to it.
 */
package dev.retort.api;
