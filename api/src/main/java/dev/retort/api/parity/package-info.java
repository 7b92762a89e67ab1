/**
 * Parity cases: what a bundle's distillers must reproduce of a reference implementation's golden tensors.
 *
 * <p>A distiller bundle registers a {@link dev.retort.api.parity.ParityCases} service whose
 * {@link dev.retort.api.parity.ParityCase}s say which fixture pair they check, which group of its tensors, which
 * distillers to build with which configurations, in which mode, and how recorded tensors are named in the fixture.
 * A parity checker (e.g. {@code kd:parity}) discovers the cases, so a new method bundle brings its parity with it.
 * Fixtures that a declarative case cannot describe (several modes or progress values in one file, a preparation
 * phase) are checked by a {@link dev.retort.api.parity.ParityComputation} service the bundle registers (1.1), which
 * may declare the fixture tensors that are its inputs (1.2), may read a single-file fixture and state the fixture's
 * own tolerance (1.3: {@code singleFile}, {@code tolerance}, {@code ParityComputation.Bar}).
 */
@Version("1.3.0")
@Export
package dev.retort.api.parity;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
