/**
 * The safetensors format (8-byte little-endian header length, JSON header, raw little-endian data), read
 * defensively and written atomically. Shared by every bundle that loads or saves weights and fixtures.
 */
@Version("1.3.0")
@Export
package dev.retort.safetensors;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
