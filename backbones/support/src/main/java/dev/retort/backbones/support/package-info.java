/**
 * What backbone bundles share, so that a new family is mostly its own architecture.
 *
 * <ul>
 *   <li>{@link dev.retort.backbones.support.ConfiguredBackbone}: the Declarative Services skeleton of a
 *       {@code Backbone} component. Its ConfigAdmin configuration ({@link dev.retort.backbones.support.BackboneProperties}:
 *       classes, drop-path rate, head dropout) gives the defaults that a run's network configuration overrides; a new
 *       configuration is validated before it replaces the last one.</li>
 *   <li>{@link dev.retort.backbones.support.BackboneConfig} and {@link dev.retort.backbones.support.DeclaredModel}: what
 *       the skeleton needs of a family's configuration record and of its declared (not created) network.</li>
 *   <li>{@link dev.retort.backbones.support.Architecture}: a preset with a network's overrides read through
 *       {@code nn.Settings} ({@code preset}), the list text and stochastic-depth schedule configurations share; {@link dev.retort.backbones.support.WeightReports}: the lists of names in a weight-loading error.</li>
 * </ul>
 *
 * <p>Components that extend {@code ConfiguredBackbone} inherit its {@code @Activate}/{@code @Modified} method and
 * its engine reference: their bundle is built with bnd's {@code -dsannotations-options: inherit} (set for every
 * Retort bundle in the top-level {@code bnd.bnd}).
 *
 * <p>1.1: {@code Architecture.preset}.
 */
@Version("1.2.0")
@Export
package dev.retort.backbones.support;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
