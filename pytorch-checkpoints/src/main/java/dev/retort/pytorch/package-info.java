/**
 * PyTorch checkpoints ({@code torch.save}: {@code .pth}, {@code .pth.tar}, {@code pytorch_model.bin}) read without
 * Python and without running anything in them: an allowlisting pickle reader in the spirit of
 * {@code torch.load(weights_only=True)}, bounds-checked storages and views, memory-mapped tensor data.
 */
@Version("1.0.0")
@Export
package dev.retort.pytorch;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
