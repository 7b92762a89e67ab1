/**
 * Where weights come from: one opener that tells safetensors, PyTorch checkpoints, Hugging Face model folders and shard
 * indexes apart by their content and hands each on as a {@code TensorSource}, and a description of what a file holds.
 */
@Version("1.0.0")
@Export
package dev.retort.weights;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
