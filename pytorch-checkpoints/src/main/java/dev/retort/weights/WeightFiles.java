package dev.retort.weights;

import dev.retort.pytorch.TorchCheckpoint;
import dev.retort.safetensors.SafeTensorsFile;
import dev.retort.safetensors.TensorSource;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/**
 * The one opener of weights for every place that takes them. The format is told from the content, never the name:
 * safetensors; a PyTorch checkpoint in the zip or the legacy format ({@code .pth}, {@code .pth.tar}, {@code .bin});
 * a Hugging Face model folder ({@code config.json} with {@code model.safetensors}, {@code pytorch_model.bin} or their
 * shard indexes); a shard index ({@code *.index.json}) itself. Anything else is refused saying what was found.
 */
public final class WeightFiles {
    /** Metadata key under which a Hugging Face folder's {@code config.json} text is handed on, for its architecture check. */
    public static final String HF_CONFIG = "hf.config.json";
    /** What a Hugging Face model folder may hold, in the order transformers prefers them. */
    public static final List<String> HF_WEIGHTS = List.of("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
            "pytorch_model.bin.index.json");

    private WeightFiles() {}

    /** Opens a weights file, shard index or Hugging Face model folder. */
    public static TensorSource open(Path path) throws IOException {
        if (Files.isDirectory(path)) return openFolder(path);
        if (!Files.exists(path)) throw new WeightsException(path + ": no such file or folder");
        if (path.getFileName().toString().endsWith(".index.json")) {
            Path config = path.toAbsolutePath().getParent().resolve("config.json");
            String text = Files.isRegularFile(config) ? config(config) : null;
            ShardedWeights s = ShardedWeights.open(path);
            return text != null ? new SourceView(s, path, s.format(), Map.of(HF_CONFIG, text)) : s;
        }
        return openFile(path);
    }

    /**
     * {@code source} without nn.DataParallel's {@code module.} prefix when every key has it (as TransKD's checkpoints
     * trained on several GPUs do), else {@code source} itself.
     */
    public static TensorSource withoutDataParallel(TensorSource source) {
        String prefix = "module.";
        boolean all = !source.tensors().isEmpty() && source.tensors().keySet().stream().allMatch(k -> k.startsWith(prefix));
        return all ? new WithoutPrefix(source, prefix) : source;
    }

    /** Opens one file: safetensors or a PyTorch checkpoint. */
    static TensorSource openFile(Path file) throws IOException {
        byte[] head = head(file);
        if (TorchCheckpoint.isZip(head) || TorchCheckpoint.isLegacy(head)) return TorchCheckpoint.open(file);
        if (isSafetensors(head)) return SafeTensorsFile.open(file);
        if (head.length >= 262 && new String(head, 257, 5, StandardCharsets.US_ASCII).equals("ustar")) {
            throw new WeightsException(file + ": a tar archive, the checkpoint format of PyTorch before 0.4, which PyTorch itself no longer loads"
                    + " safely (torch.load(weights_only=True) refuses it); re-save it with a current torch.save");
        }
        throw new WeightsException(file + ": not a weights file Retort reads (" + (head.length == 0 ? "it is empty"
                : "its first bytes are " + HexFormat.ofDelimiter(" ").formatHex(head, 0, Math.min(8, head.length))) + "): expected safetensors, a PyTorch checkpoint"
                + " (zip or legacy format, .pth/.pth.tar/.bin), a Hugging Face model folder or a *.index.json shard index");
    }

    private static TensorSource openFolder(Path dir) throws IOException {
        Path config = dir.resolve("config.json");
        Map<String, String> extra = Files.isRegularFile(config) ? Map.of(HF_CONFIG, config(config)) : Map.of();
        for (String name : HF_WEIGHTS) {
            Path f = dir.resolve(name);
            if (!Files.isRegularFile(f)) continue;
            TensorSource s = name.endsWith(".index.json") ? ShardedWeights.open(f) : openFile(f);
            String format = "Hugging Face model folder (" + name + ", " + s.format() + ")";
            return new SourceView(s, dir, format, extra);
        }
        throw new WeightsException(dir + ": a folder without model weights (looked for " + String.join(", ", HF_WEIGHTS) + ")");
    }

    /** A model's config.json: a few kB; anything past 16 MB is not one. */
    private static String config(Path file) throws IOException {
        if (Files.size(file) > 16L << 20) throw new WeightsException(file + ": " + Files.size(file) + " bytes is not a model's config.json");
        return Files.readString(file);
    }

    /** The first bytes of a file (up to 512). */
    static byte[] head(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            return in.readNBytes(512);
        }
    }

    /** An 8-byte little-endian header length that fits the file, then a JSON object. */
    private static boolean isSafetensors(byte[] head) {
        if (head.length < 10) return false;
        long n = 0;
        for (int i = 7; i >= 0; i--) n = n << 8 | (head[i] & 0xff);
        return n >= 2 && head[8] == '{';
    }
}
