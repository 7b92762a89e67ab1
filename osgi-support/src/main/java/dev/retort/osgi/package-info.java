/**
 * Service handling done once: {@link dev.retort.osgi.Ranked} keeps the services a Declarative Services component
 * binds dynamically in ranking order (highest {@code service.ranking} first, then oldest), so that a third party can
 * replace a built-in service by ranking; {@link dev.retort.osgi.ServiceLookup} finds a service by filter in the same
 * order for code outside a component, and always releases what it got.
 */
@Version("1.0.0")
@Export
package dev.retort.osgi;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
